// Camera faults (issue 11, item 5): real `frameline-agent run` processes,
// each with a stand-in rpicam-vid (fixtures/bin-faults/rpicam-vid) that dies after
// a few frames, stalls, writes random bytes, or cuts every frame at 4096
// bytes, sending to the real test broker. Each agent must restart its camera
// with backoff and keep running; good frames keep flowing where there are
// any; where nearly every frame is broken the agent says so in its systemd
// status line, in /metrics (frameline_agent_camera_broken) and in one WARN
// per episode. The four run side by side. Cost: about 40 s (2 min on a machine
// at load 40).
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, sharedBroker } from '@frameline/shared/testing';
import { FIXTURES, listenNotifySocket } from './fixtures/helpers.js';

const BIN = fileURLToPath(new URL('../../bin/frameline-agent.js', import.meta.url));
const CAMERA_BIN = path.join(FIXTURES, 'bin-faults', 'rpicam-vid');
chmodSync(CAMERA_BIN, 0o755);
/** How long each agent runs once started: three status periods (5 s each) and a few stall restarts (stallSeconds 3). */
const RUN_MS = 17_000;

interface Fault {
  mode: 'die' | 'stall' | 'noise' | 'cut';
  env?: Record<string, string>;
  /** Nearly every frame is broken: the agent must raise it. */
  broken: boolean;
}

const FAULTS: Fault[] = [
  { mode: 'die', env: { FAKE_CAMERA_FRAMES: '15' }, broken: false },
  { mode: 'stall', broken: false },
  { mode: 'noise', broken: true },
  { mode: 'cut', env: { FAKE_CAMERA_CUT: '4096' }, broken: true },
];

interface Outcome {
  fault: Fault;
  exitCode: number | null;
  log: string;
  statuses: string[];
  /** Highest value of each metric seen while it ran. */
  peak: Record<string, number>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function scrape(port: number, camera: string): Promise<Record<string, number>> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const out: Record<string, number> = {};
    for (const m of text.matchAll(new RegExp(`^frameline_agent_(\\w+)\\{camera="${camera}"\\} (\\S+)$`, 'gm'))) out[m[1]!] = Number(m[2]);
    return out;
  } catch {
    return {};
  }
}

async function runAgent(fault: Fault, dir: string, brokerConfig: Record<string, unknown>, topic: string): Promise<Outcome> {
  const camera = `CAMERA-${fault.mode.toUpperCase()}`;
  const metricsPort = await freePort();
  const configFile = path.join(dir, `${fault.mode}.json`);
  await writeFile(configFile, JSON.stringify({
    camera: { id: camera, source: 'rpicam', width: 384, height: 288, fps: 10, stallSeconds: 3, rpicam: { binary: CAMERA_BIN } },
    kafka: brokerConfig,
    topics: { frames: topic },
    delivery: { mode: 'live' },
    stateDir: path.join(dir, `state-${fault.mode}`),
    metrics: { listen: `127.0.0.1:${metricsPort}` },
  }));
  const socket = path.join(dir, `${fault.mode}.sock`);
  const { child: listener, heard } = await listenNotifySocket(socket);
  const agent = spawn(process.execPath, [BIN, 'run', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NOTIFY_SOCKET: socket, FAKE_CAMERA_MODE: fault.mode, ...fault.env },
  });
  let log = '';
  agent.stdout.on('data', (b: Buffer) => (log += b.toString()));
  agent.stderr.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
  const peak: Record<string, number> = {};
  try {
    // Timed from "agent started": a node process may take seconds to start on a loaded machine.
    while (!/agent started/.test(log) && agent.exitCode === null) await sleep(100);
    // A broken camera runs on for two status periods (5 s each) after it was raised, so a status line says so even on a loaded machine.
    const until = Date.now() + RUN_MS;
    const cap = Date.now() + 4 * RUN_MS;
    let raisedAt: number | undefined;
    while (agent.exitCode === null && Date.now() < cap && (Date.now() < until || (fault.broken && (raisedAt === undefined || Date.now() - raisedAt < 11_000)))) {
      for (const [k, v] of Object.entries(await scrape(metricsPort, camera))) peak[k] = Math.max(peak[k] ?? -Infinity, v);
      if (peak.camera_broken === 1) raisedAt ??= Date.now();
      await sleep(500);
    }
    for (const [k, v] of Object.entries(await scrape(metricsPort, camera))) peak[k] = Math.max(peak[k] ?? -Infinity, v);
    const running = agent.exitCode === null;
    agent.kill('SIGTERM');
    const exitCode = await exited;
    await sleep(200); // the STOPPING notification
    return { fault, exitCode: running ? exitCode : -1, log, statuses: heard.map((h) => h.msg).filter((m) => m.includes('STATUS=')), peak };
  } finally {
    agent.kill('SIGKILL');
    listener.kill();
  }
}

test('camera faults: restarts with backoff, no crash, good frames flow, a broken camera is raised in status, metrics and one WARN', { timeout: 180_000 }, async () => {
  const broker = await sharedBroker();
  const topics = await broker.topics('camera-faults', 1);
  const dir = await mkdtemp(path.join(tmpdir(), 'fl-camera-faults-'));
  const brokerConfig = { brokers: [broker.props['bootstrap.external']!], passwordFile: broker.props['sasl.agent.password.file'], caFile: broker.props['ssl.ca'] };
  try {
    const outcomes = await Promise.all(FAULTS.map((f) => runAgent(f, dir, brokerConfig, topics.frames)));
    for (const o of outcomes) {
      const p = o.peak;
      const warns = (o.log.match(/WARN .*camera output is broken/g) ?? []).length;
      const brokenStatuses = o.statuses.filter((s) => s.includes('CAMERA BROKEN'));
      console.log(`# ${o.fault.mode}: frames captured ${p.frames_captured_total ?? 0}, sent ${p.frames_sent_total ?? 0}, ` +
        `broken ${p.camera_broken_frames_total ?? 0}, restarts ${p.camera_restarts_total ?? 0}, stalls ${p.camera_stalls_total ?? 0}, ` +
        `camera_broken gauge peak ${p.camera_broken ?? 'n/a'}, broken WARN lines ${warns}, status lines ${o.statuses.length} (${brokenStatuses.length} say CAMERA BROKEN)` +
        (brokenStatuses[0] ? `: ${brokenStatuses[0].replace(/^.*STATUS=/, '')}` : ''));

      const tail = o.log.slice(-3000);
      assert.equal(o.exitCode, 0, `${o.fault.mode}: the agent kept running and stopped cleanly on SIGTERM:\n${tail}`);
      assert.ok(!/frame loop failed|Unhandled|uncaught/i.test(o.log), `${o.fault.mode}: nothing crashed:\n${tail}`);
      assert.ok(o.statuses.length >= 2, `${o.fault.mode}: status lines were sent`);
      if (o.fault.broken) {
        assert.equal(p.camera_broken, 1, `${o.fault.mode}: /metrics raised frameline_agent_camera_broken`);
        assert.ok(brokenStatuses.length >= 1, `${o.fault.mode}: the status line says the camera is broken:\n${o.statuses.join('\n')}`);
        assert.equal(warns, 1, `${o.fault.mode}: one WARN for the one episode, not one per frame`);
        assert.ok((p.camera_broken_frames_total ?? 0) >= 50, `${o.fault.mode}: broken frames counted`);
        assert.equal(p.frames_sent_total ?? 0, 0, `${o.fault.mode}: no broken frame is sent`);
        assert.ok((p.camera_restarts_total ?? 0) >= 1, `${o.fault.mode}: a camera delivering no frame is restarted`);
      } else {
        assert.equal(p.camera_broken ?? 0, 0, `${o.fault.mode}: never raised as broken`);
        assert.equal(warns, 0);
        assert.equal(brokenStatuses.length, 0);
        assert.ok((p.frames_sent_total ?? 0) > 0, `${o.fault.mode}: good frames still reach the broker`);
        assert.ok((p.camera_restarts_total ?? 0) >= (o.fault.mode === 'die' ? 2 : 1), `${o.fault.mode}: the camera process is restarted`);
      }
    }
    const stall = outcomes.find((o) => o.fault.mode === 'stall')!;
    assert.ok((stall.peak.camera_stalls_total ?? 0) >= 1, 'the stall is detected');
    assert.ok(stall.statuses.some((s) => s.includes('CAMERA STALLED')) || /camera delivers frames again/.test(stall.log), 'the stall is reported');
    // Backoff: the die camera's restarts are spaced by the restart policy, logged with their delay.
    const delays = [...outcomes[0]!.log.matchAll(/restarting camera after backoff .*delayMs=(\d+)/g)].map((m) => Number(m[1]));
    console.log(`# die: restart delays ${delays.join(', ')} ms`);
    assert.ok(delays.length >= 2 && delays.every((d) => d >= 500), `restarts wait for the backoff: ${delays.join(', ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
