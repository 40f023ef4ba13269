// Status records on the compacted status topic, from a real agent
// (startAgent: synthetic camera, reliable delivery, stand-in Pi sensor files)
// against a private broker that this test stops for a while:
// - while the broker is up a record arrives every status.intervalSeconds,
//   keyed by camera id, and passes the shared contract;
// - while it is down only the latest status is kept (the others counted as
//   superseded), and it is the first to arrive once the broker is back: the
//   outage's spooling status (kept even when catching-up came before the
//   status producer reconnected), then catching-up or connected.
// Records stay in the topic for the whole test (compaction never touches the
// active segment), so the test reads the full sequence afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import kafkajs from 'kafkajs';
import { TOPICS, createLogger, parseAgentStatus, type AgentStatus } from '@frameline/shared';
import { freePort, startPrivateBroker, waitFor } from '@frameline/shared/testing';
import { loadAgentConfig } from '../src/config.js';
import { startAgent, type RunningAgent } from '../src/service/agent.js';

const CAMERA = 'CAMERA-9';
const INTERVAL_S = 2;
const OUTAGE_MS = 8_000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  return res.text();
}

function metricValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('agent status records: every interval, on change, latest only through a broker outage', { timeout: 9 * 60_000 }, async (t) => {
  const broker = await startPrivateBroker('agent-status', 29530);
  const dir = mkdtempSync(join(tmpdir(), 'fl-status-'));
  let agent: RunningAgent | undefined;
  try {
    const props = broker.props;
    const metricsPort = await freePort();
    // Stand-in Pi sensors: 71.5 °C and 0x50005 (under-voltage and throttled, now and since boot).
    writeFileSync(join(dir, 'temp'), '71500\n');
    writeFileSync(join(dir, 'get_throttled'), '50005\n');
    const configFile = join(dir, 'agent.json');
    writeFileSync(configFile, JSON.stringify({
      camera: { id: CAMERA, source: 'synthetic', width: 160, height: 120, fps: 5 },
      kafka: { brokers: [props['bootstrap.external']], passwordFile: props['sasl.agent.password.file'], caFile: props['ssl.ca'], connectionTimeout: '2s' },
      delivery: { mode: 'reliable', backfill: 'inline', sendTimeout: '3s' },
      stateDir: join(dir, 'state'),
      metrics: { listen: `127.0.0.1:${metricsPort}` },
      status: { intervalSeconds: INTERVAL_S, temperatureFile: join(dir, 'temp'), throttledFile: join(dir, 'get_throttled') },
    }));
    const config = loadAgentConfig({ file: configFile, env: {} });
    const logger = createLogger({ level: 'error', journald: false, stream: new Writable({ write: (_c, _e, cb) => cb() }) });
    agent = await startAgent(config, logger, { env: {} });
    const run = agent.run;

    // Steady state: a few intervals with the broker up.
    await waitFor('status records flowing', async () => metricValue(await scrape(metricsPort), 'frameline_agent_status_records_sent_total') >= 4, 60_000, 200);
    const before = await scrape(metricsPort);

    const tStop = Date.now();
    await broker.stop();
    const tStopped = Date.now();
    await sleep(OUTAGE_MS);
    const during = await scrape(metricsPort);
    const tStart = Date.now();
    await broker.start();
    t.diagnostic(`broker stopped in ${tStopped - tStop} ms, down ${tStart - tStopped} ms, restarted in ${Date.now() - tStart} ms`);

    // Back: wait for three connected statuses after the outage (a change, then intervals).
    const records = async (count: number, timeoutMs: number) =>
      (await broker.readRecords(TOPICS.agents, { count, timeoutMs, filter: (m) => m.key?.toString() === CAMERA })).map((r) => r.message);
    let statuses: AgentStatus[] = [];
    await waitFor('connected statuses after the outage', async () => {
      const got = await records(1_000_000, 1500);
      statuses = got.map((m) => parseAgentStatus(m.value)).filter((s): s is AgentStatus => typeof s === 'object' && s.run === run);
      return statuses.filter((s) => s.at > tStart && s.broker === 'connected').length >= 3;
    }, 120_000, 500);
    const after = await scrape(metricsPort);
    const messages = await records(statuses.length, 20_000);
    const compaction = await (async () => {
      const admin = broker.admin();
      await admin.connect();
      try {
        const r = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: TOPICS.agents, configNames: ['cleanup.policy'] }] });
        return r.resources[0]?.configEntries[0]?.configValue;
      } finally {
        await admin.disconnect();
      }
    })();

    const line = (s: AgentStatus) => `${new Date(s.at).toISOString().slice(11, 23)} ${s.broker}/${s.cameraState} spool ${s.spool.frames} (${s.spool.oldestAgeMs ?? '-'} ms) sent ${s.sent}${s.lastError ? ` "${s.lastError.slice(0, 60)}"` : ''}`;
    for (const s of statuses) t.diagnostic(line(s));
    const superseded = metricValue(during, 'frameline_agent_status_records_superseded_total');
    t.diagnostic(`superseded during the outage: ${superseded}; sent before ${metricValue(before, 'frameline_agent_status_records_sent_total')}, after ${metricValue(after, 'frameline_agent_status_records_sent_total')}`);

    await t.test('records are keyed by camera id, pass the contract, and carry the stand-in Pi health', () => {
      assert.equal(compaction, 'compact');
      assert.ok(messages.every((m) => m.key?.toString() === CAMERA));
      const parsed = messages.map((m) => parseAgentStatus(m.value));
      assert.deepEqual(parsed.filter((p) => typeof p === 'string'), []);
      const s = statuses[statuses.length - 1]!;
      assert.equal(s.camera, CAMERA);
      assert.match(s.version, /^\d+\.\d+\.\d+/);
      assert.equal(s.pi?.socTempC, 71.5);
      assert.equal(s.pi?.throttled?.raw, 0x50005);
      assert.equal(s.pi?.throttled?.underVoltageNow, true);
      assert.equal(s.cameraState, 'running');
      assert.ok(s.sent > 0 && s.captureFps > 0, `sent ${s.sent}, ${s.captureFps} fps`);
    });

    await t.test('with the broker up and nothing changing, records keep arriving (the interval)', () => {
      // After the return, once connected, nothing changes: every further record is an interval one.
      const back = statuses.filter((s) => s.at > tStart);
      const steady = back.slice(back.findIndex((s) => s.broker === 'connected'));
      assert.ok(steady.length >= 3 && steady.every((s) => s.broker === 'connected' && s.lastError === null), `${steady.length} connected records`);
      const gaps = steady.slice(1).map((s, i) => s.at - steady[i]!.at);
      t.diagnostic(`gaps between steady records (ms): ${gaps.join(', ')} (interval ${INTERVAL_S * 1000})`);
      assert.ok(gaps.every((g) => g > 0), 'records in order');
      assert.ok(steady.slice(1).every((s, i) => s.sent >= steady[i]!.sent && s.uptimeSeconds >= steady[i]!.uptimeSeconds), 'counters only grow');
    });

    await t.test('while the broker is down only the latest status is kept; it arrives first on reconnect, then connected', () => {
      assert.ok(superseded >= 1, `superseded ${superseded}`);
      // Taken while the broker was fully down: at most the one latest survives.
      const takenWhileDown = statuses.filter((s) => s.at > tStopped && s.at < tStart);
      assert.ok(takenWhileDown.length <= 1, `${takenWhileDown.length} records taken during the outage arrived`);
      const firstBack = statuses.findIndex((s) => s.at > tStopped && s.broker !== 'connected');
      assert.ok(firstBack >= 0, 'a record of the outage arrived');
      const back = statuses.slice(firstBack);
      assert.equal(back[0]!.broker, 'spooling', 'the first record after the outage tells of it');
      assert.ok(back[0]!.lastError === null || /broker|connect/i.test(back[0]!.lastError), String(back[0]!.lastError));
      const firstConnected = back.findIndex((s) => s.broker === 'connected');
      assert.ok(firstConnected > 0, 'then connected');
      assert.ok(back.slice(firstConnected).every((s) => s.broker !== 'spooling'), 'no spooling record after connected');
      const withSpool = back.find((s) => s.spool.frames > 0);
      assert.ok(withSpool && withSpool.spool.oldestAgeMs !== null && withSpool.spool.oldestAgeMs > 0, 'spooled frames have an age');
    });

    await t.test('a state change is sent at once, besides the interval: the outage and the return counted as changes', () => {
      const changes = (text: string) => metricValue(text, 'frameline_agent_status_changes_total');
      t.diagnostic(`changes: before ${changes(before)}, during ${changes(during)}, after ${changes(after)}`);
      assert.ok(changes(during) > changes(before), 'the outage was a change');
      assert.ok(changes(after) > changes(during), 'the return was a change');
    });

    await t.test('/metrics has the Pi gauges and the status counters', () => {
      assert.equal(metricValue(after, 'frameline_agent_soc_temperature_celsius'), 71.5);
      assert.match(after, /frameline_agent_pi_throttled\{flag="under_voltage_now",camera="CAMERA-9"\} 1/);
      assert.match(after, /frameline_agent_pi_throttled\{flag="frequency_capped_now",camera="CAMERA-9"\} 0/);
      assert.ok(metricValue(after, 'frameline_agent_status_records_sent_total') > metricValue(before, 'frameline_agent_status_records_sent_total'));
      assert.match(agent!.statusLine(), /SoC 71\.5°C, UNDER-VOLTAGE, THROTTLED/);
    });

    await t.test('an agent whose camera cannot start says so before it exits: cameraState missing, the reason as lastError', async () => {
      const missingFile = join(dir, 'missing.json');
      writeFileSync(missingFile, JSON.stringify({
        camera: { id: 'CAMERA-8', source: 'rpicam' },
        kafka: { brokers: [props['bootstrap.external']], passwordFile: props['sasl.agent.password.file'], caFile: props['ssl.ca'] },
        stateDir: join(dir, 'state-missing'),
        status: { temperatureFile: '', throttledFile: '' },
      }));
      // No rpicam-vid on this PATH: start() fails with the camera's own message.
      await assert.rejects(startAgent(loadAgentConfig({ file: missingFile, env: {} }), logger, { env: { PATH: join(dir, 'no-bin') } }), /rpicam-vid/);
      const got = await broker.readRecords(TOPICS.agents, { count: 1, timeoutMs: 20_000, filter: (m) => m.key?.toString() === 'CAMERA-8' });
      const last = parseAgentStatus(got[got.length - 1]?.message.value ?? null);
      assert.equal(typeof last, 'object', String(last));
      const s = last as AgentStatus;
      assert.equal(s.cameraState, 'missing');
      assert.match(s.lastError ?? '', /rpicam-vid/);
      assert.equal('pi' in s, false, 'no sensor files: no pi field');
    });
  } finally {
    await agent?.stop('test over');
    await broker.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
