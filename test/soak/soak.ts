// `npm run soak -- --minutes N`: the real broker, three reliable-mode agents
// (synthetic cameras) and cloud instances as separate processes for N minutes,
// with seeded faults (broker SIGKILL, link loss through a relay, cloud
// SIGKILL), the fuzzers at many times the suite's cases alongside, and
// figures every minute. Not part of `npm test`. scripts/soak.mjs builds and calls runSoak().
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TOPICS, createLogger } from '@frameline/shared';
import { REPO_ROOT, seededRandom, startPrivateBroker } from '@frameline/shared/testing';
import { soakedProcess, type Death, type Soaked } from './children.js';
import { nextFault, type Fault } from './faults.js';
import { createLedger, type RunReport } from './ledger.js';
import { startLinkProxy } from './link-proxy.js';
import { createProcSampler } from './proc-sampler.js';
import { agentCounts, cloudCounts, scrape, type AgentCounts, type CloudCounts } from './scrape.js';
import { createTopicReader } from './topic-reader.js';
import { writeSoakReport, minuteLine, type SoakReport, type FuzzResult } from './report.js';

export interface SoakOptions {
  minutes: number;
  seed: number;
  fps: number;
  clouds: number;
}

const CAMERAS = ['CAMERA-1', 'CAMERA-2', 'CAMERA-3'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/** A port base whose INTERNAL/EXTERNAL/CONTROLLER ports, the broker's EXTERNAL address and the relay's are all free. */
async function portBase(): Promise<number> {
  for (let base = 29600; base < 29990; base += 10) {
    const checks = [[base, '127.0.0.1'], [base + 1, '127.0.0.1'], [base + 2, '127.0.0.1'], [base + 1, '127.0.0.2'], [base + 1, '127.0.0.3']] as const;
    if ((await Promise.all(checks.map(([p, h]) => canListen(h, p)))).every(Boolean)) return base;
  }
  throw new Error('no free ports for the soak broker between 29600 and 29990');
}

/** fl-run/fl-seq of the frames left in a stopped agent's spool (read from a copy, as the next start would). */
async function spooledFrames(spoolDir: string): Promise<{ run: string; seq: number }[]> {
  const { openSpool } = (await import(join(REPO_ROOT, 'agent/dist/src/delivery/spool.js'))) as typeof import('../../agent/src/delivery/spool.js');
  const copy = await mkdtemp(join(tmpdir(), 'fl-soak-spool-'));
  try {
    await cp(spoolDir, copy, { recursive: true });
    const spool = await openSpool({ dir: copy, maxBytes: 1 << 30, maxAgeMs: 0, segmentBytes: 1 << 30, fsync: 'never', fsyncIntervalMs: 1000, maxPendingBytes: 1 << 20 }, { logger: createLogger({ level: 'error' }) });
    const out: { run: string; seq: number }[] = [];
    for (let b = await spool.read(10_000, 1 << 28); b; b = await spool.read(10_000, 1 << 28)) {
      for (const r of b.records) out.push({ run: String(r.headers['fl-run']), seq: Number(r.headers['fl-seq']) });
      await spool.ack(b);
    }
    await spool.close();
    return out;
  } catch {
    return []; // no spool written (the agent never had to spool)
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

export async function runSoak(o: SoakOptions): Promise<number> {
  const startedAt = Date.now();
  const stamp = new Date(startedAt).toISOString().replace(/[:.]/g, '-');
  const artifacts = join(REPO_ROOT, 'test/artifacts');
  const logDir = join(artifacts, `soak-${stamp}-logs`);
  mkdirSync(logDir, { recursive: true });
  const work = await mkdtemp(join(tmpdir(), 'fl-soak-'));
  const at = () => Math.round((Date.now() - startedAt) / 1000);
  const say = (s: string) => console.log(`[soak ${String(at()).padStart(5)} s] ${s}`);
  const r = seededRandom(o.seed);
  say(`seed ${o.seed}, ${o.minutes} min, ${CAMERAS.length} cameras at ${o.fps} fps, ${o.clouds} cloud instance(s); logs in ${logDir}`);

  const base = await portBase();
  // The broker's EXTERNAL listener on 127.0.0.2, advertised as the relay's 127.0.0.3: every agent connection crosses the relay.
  const broker = await startPrivateBroker('soak', base, { KAFKA_EXTERNAL_BIND: '127.0.0.2', KAFKA_EXTERNAL_ADVERTISED_HOST: '127.0.0.3' });
  const proxy = await startLinkProxy({ host: '127.0.0.3', port: base + 1 }, { host: '127.0.0.2', port: base + 1 });
  const brokerPid = async () => Number(await readFile(join(broker.dir, 'run/kafka.pid'), 'utf8'));
  const sampler = createProcSampler(startedAt);
  const clouds: Soaked[] = [];
  const agents: Soaked[] = [];
  let ending = false;
  // Cut short (Ctrl-C, or an error of the soak itself): nothing it started outlives it.
  const abandon = async () => {
    ending = true;
    await Promise.all([...agents, ...clouds].map((c) => c.kill('SIGKILL')));
    await proxy.close();
    await broker.destroy();
    await rm(work, { recursive: true, force: true });
  };
  const onSignal = () => void abandon().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await soak();
  } catch (err) {
    await abandon();
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }

  async function soak(): Promise<number> {
    sampler.track('broker', await brokerPid());
    say(`broker up (INTERNAL 127.0.0.1:${base}, EXTERNAL 127.0.0.2:${base + 1} behind the relay at ${proxy.address})`);

    const deaths: Death[] = [];
    const onDeath = (d: Death) => {
      deaths.push(d);
      say(`${d.role} (pid ${d.pid}) DIED ON ITS OWN: code ${d.code} signal ${d.signal}\n${d.tail}`);
    };
    const p = broker.props;
    const ports = new Map<string, number>();
    const freshPort = async () => {
      for (let port = base + 100; ; port++) if (![...ports.values()].includes(port) && (await canListen('127.0.0.1', port))) return port;
    };

    // Cloud instances: one consumer group on INTERNAL, the lite model on one thread (the machine is shared).
    for (let i = 0; i < o.clouds; i++) {
      const role = `cloud-${i + 1}`;
      const port = await freshPort();
      ports.set(role, port);
      const file = join(work, `${role}.json`);
      writeFileSync(file, JSON.stringify({
        kafka: { brokers: p['bootstrap.internal'], username: p['sasl.cloud.username'], passwordFile: p['sasl.cloud.password.file'], groupId: `frameline-soak-${o.seed}`, sessionTimeout: '10s' },
        topics: { frames: TOPICS.frames, backfill: TOPICS.backfill, inferences: TOPICS.inferences, alerts: TOPICS.alerts, dlq: TOPICS.dlq },
        ingest: { commitInterval: '1s' },
        scheduler: { workers: 1, maxLagMs: '2s' },
        model: { variant: 'lite', threads: 1 },
        http: { listen: `127.0.0.1:${port}` },
        log: { level: 'info' },
      }));
      const c = soakedProcess(role, [join(REPO_ROOT, 'cloud/bin/frameline-cloud.js'), 'run', '--config', file], join(logDir, `${role}.log`),
        { startedAt, onDeath, ending: () => ending, onStart: (pid) => sampler.track(role, pid) });
      c.start();
      clouds.push(c);
    }

    // Agents: reliable, inline backfill, camera N on partition N-1, through the relay.
    const agentRuns = new Map<string, { camera: string; run: string; last?: AgentCounts }>();
    const runOf = (a: Soaked) => a.lines().map((l) => /agent started.* run=([0-9a-f-]{36})/.exec(l)?.[1]).find(Boolean);
    for (const camera of CAMERAS) {
      const role = `agent-${camera}`;
      const port = await freshPort();
      ports.set(role, port);
      const file = join(work, `${role}.json`);
      writeFileSync(file, JSON.stringify({
        camera: { id: camera, source: 'synthetic', width: 320, height: 240, fps: o.fps },
        kafka: { brokers: [proxy.address], passwordFile: p['sasl.agent.password.file'], caFile: p['ssl.ca'], connectionTimeout: '3s' },
        partitioning: 'camera-index',
        delivery: { mode: 'reliable', backfill: 'inline', sendTimeout: '5s', spool: { maxBytes: '256MiB' } },
        stateDir: join(work, `state-${camera}`),
        metrics: { listen: `127.0.0.1:${port}` },
      }));
      const a = soakedProcess(role, [join(REPO_ROOT, 'agent/bin/frameline-agent.js'), 'run', '--config', file], join(logDir, `${role}.log`),
        { startedAt, onDeath, ending: () => ending, onStart: (pid) => sampler.track(role, pid) });
      a.start();
      agents.push(a);
    }

    const ledger = createLedger();
    const kcatConfig = broker.kcatConfig('cloud', 'internal');
    const reader = createTopicReader(kcatConfig, TOPICS.frames, CAMERAS.length, (rec) => ledger.add(rec));
    const cloudLast = new Map<string, CloudCounts>();
    const scrapeAll = async () => {
      for (const a of agents) {
        const text = await scrape(ports.get(a.role)!);
        const run = runOf(a);
        if (!text || !run) continue;
        agentRuns.set(run, { camera: a.role.slice('agent-'.length), run, last: agentCounts(text) });
      }
      for (const c of clouds) {
        const text = await scrape(ports.get(c.role)!);
        if (text) cloudLast.set(c.role, cloudCounts(text));
      }
    };

    // Fuzzers at many times the suite's cases, at low priority beside the stream.
    const fuzzFactor = Math.max(2, Math.round(o.minutes / 3));
    const fuzz: Promise<FuzzResult>[] = [
      ['shared/dist/test/fuzz-frame.test.js', 80_000 * fuzzFactor],
      ['agent/dist/test/fuzz-splitter.test.js', 30_000 * fuzzFactor],
    ].map(([file, cases]) => new Promise<FuzzResult>((resolve) => {
      const child = spawn('nice', ['-n', '10', process.execPath, '--test', join(REPO_ROOT, String(file))], {
        env: { ...process.env, FRAMELINE_FUZZ_CASES: String(cases), FRAMELINE_FUZZ_SEED: String(o.seed) }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (out += b.toString()));
      child.once('exit', (code) => {
        const line = /seed \d+: .*/.exec(out)?.[0] ?? out.slice(-500);
        say(`fuzz ${file}: ${code === 0 ? 'passed' : 'FAILED'}: ${line}`);
        resolve({ file: String(file), cases: Number(cases), ok: code === 0, line });
      });
    }));

    const faults: (Fault & { atS: number; repairedAfterS?: number })[] = [];
    const minutes: string[] = [];
    let brokerDownOnPurpose = false;
    // Stream time starts once every process is started (the broker alone can take a minute on a busy machine).
    const streamStart = Date.now();
    const streamEnd = streamStart + o.minutes * 60_000;
    const report = (final: SoakReport['final']): SoakReport => ({
      startedAt: new Date(startedAt).toISOString(), options: o, portBase: base, faults, deaths, processes: sampler.figures(),
      proxy: proxy.stats(), topicReadsFailed: reader.failedReads(), minutes, clouds: Object.fromEntries(cloudLast), final,
    });

    // Sampling, scraping, reading and the minute line, until the end.
    // /proc every 5 s; counters, the topic and the minute line every minute (a slow topic read must not stop the sampling).
    const sampling = (async () => {
      while (!ending) {
        for (const role of sampler.sample()) {
          if (role === 'broker' && !brokerDownOnPurpose) {
            onDeath({ role, pid: -1, atS: at(), code: null, signal: null, tail: 'broker process gone (see .cache/kafka-soak/logs)' });
            await broker.start();
            sampler.track('broker', await brokerPid());
          }
        }
        await sleep(5000);
      }
    })();
    const minutely = (async () => {
      for (let next = streamStart + 60_000; !ending; next += 60_000) {
        while (!ending && Date.now() < next) await sleep(1000);
        if (ending) break;
        const t = Date.now();
        // The topic first, then the agents' counts: captured then reads at least delivered.
        const read = await reader.poll();
        await scrapeAll();
        const line = `${minuteLine((Date.now() - streamStart) / 1000, agentRuns, ledger.running(), faults, sampler.current(), cloudLast)} | read ${read} records in ${((Date.now() - t) / 1000).toFixed(1)} s`;
        minutes.push(line);
        say(line);
        writeSoakReport(artifacts, stamp, report(null));
        while (next + 60_000 < Date.now()) next += 60_000;
      }
    })();
    const monitor = Promise.all([sampling, minutely]);

    // The faults, one at a time, none in the first 30 s or the last 30 s.
    await sleep(30_000);
    for (let f = nextFault(r, o.clouds); Date.now() + f.gapS * 1000 + f.durationS * 1000 < streamEnd - 30_000; f = nextFault(r, o.clouds)) {
      await sleep(f.gapS * 1000);
      const fault: Fault & { atS: number; repairedAfterS?: number } = { ...f, atS: at() };
      faults.push(fault);
      say(`fault ${faults.length}: ${f.kind}${f.kind === 'cloud-sigkill' ? ` cloud-${f.target + 1}` : ''} for ${f.durationS} s`);
      if (f.kind === 'broker-sigkill') {
        brokerDownOnPurpose = true;
        process.kill(await brokerPid(), 'SIGKILL');
        await sleep(f.durationS * 1000);
        await broker.start();
        sampler.track('broker', await brokerPid());
        brokerDownOnPurpose = false;
      } else if (f.kind === 'cloud-sigkill') {
        const c = clouds[f.target]!;
        await c.kill('SIGKILL');
        await sleep(f.durationS * 1000);
        c.start();
      } else {
        proxy.set(f.kind === 'link-silent' ? 'silent' : 'reset');
        await sleep(f.durationS * 1000);
        proxy.set('up');
      }
      // A broker restart on a loaded machine can take far longer than the planned downtime.
      fault.repairedAfterS = at() - fault.atS;
    }
    await sleep(Math.max(0, streamEnd - Date.now()));

    // The end: every agent's spool drained (bounded), then stopped by SIGTERM; the topic read to its end.
    say('stream time over: waiting for the agents to drain their spools');
    const drainDeadline = Date.now() + 300_000;
    for (;;) {
      await scrapeAll();
      const pending = agents.map((a) => agentRuns.get(runOf(a) ?? '')?.last).map((c) => (c ? c.spoolFrames + c.queueFrames + (c.connected === 1 ? 0 : 1) : 1));
      if (pending.every((n) => n === 0) || Date.now() > drainDeadline) break;
      await sleep(2000);
    }
    ending = true;
    await monitor;
    // The counts each agent run reached, just before it stops (the monitor's last topic read can take a while on a busy machine).
    await scrapeAll();
    const exits: string[] = [];
    for (const a of agents) {
      const { code, signal } = await Promise.race([a.kill('SIGTERM'), sleep(60_000).then(() => a.kill('SIGKILL'))]);
      const stopped = a.lines().find((l) => /\] stopped /.test(l)) ?? '(no stopped line)';
      exits.push(`${a.role}: exit ${code ?? signal}; ${stopped.replace(/^.*\] stopped /, '')}`);
      if (code !== 0) deaths.push({ role: a.role, pid: a.pid(), atS: at(), code, signal, tail: a.lines().slice(-15).join('\n') });
    }
    const reports: RunReport[] = [];
    for (const camera of CAMERAS) {
      const left = await spooledFrames(join(work, `state-${camera}`, 'spool', camera));
      for (const run of agentRuns.values()) {
        if (run.camera !== camera) continue;
        reports.push({ camera, run: run.run, submitted: run.last?.passed ?? 0, dropped: run.last?.droppedAfterSeq ?? 0, inSpool: left.filter((x) => x.run === run.run).map((x) => x.seq) });
      }
    }
    say('reading the frames topic to its end');
    while ((await reader.poll()) > 0);
    for (const c of clouds) {
      const { code, signal } = await c.kill('SIGTERM');
      exits.push(`${c.role}: exit ${code ?? signal}`);
      if (code !== 0) deaths.push({ role: c.role, pid: c.pid(), atS: at(), code, signal, tail: c.lines().slice(-15).join('\n') });
    }
    say('waiting for the fuzzers');
    const fuzzResults = await Promise.all(fuzz);
    await proxy.close();
    await broker.destroy();
    await rm(work, { recursive: true, force: true });
    await rm(kcatConfig, { force: true });

    const cameras = ledger.settle(reports);
    const failures = [
      ...cameras.filter((c) => c.lost > 0).map((c) => `${c.camera}: ${c.lost} acknowledged frames lost (e.g. ${c.lostExamples.slice(0, 3).join(', ')})`),
      ...deaths.map((d) => `${d.role} pid ${d.pid} died on its own or failed to stop cleanly (code ${d.code}, signal ${d.signal}) at ${d.atS} s`),
      ...fuzzResults.filter((f) => !f.ok).map((f) => `fuzzer ${f.file} failed: ${f.line}`),
    ];
    const final = report({ cameras, exits, fuzz: fuzzResults, failures, durationS: at() });
    const files = writeSoakReport(artifacts, stamp, final);
    console.log(`\n${files.markdown}`);
    say(`report: ${files.json}, ${files.md}`);
    return failures.length === 0 ? 0 : 1;
  }
}
