// A real reliable-mode agent process (synthetic camera) SIGKILLed 20 times
// at random points while it spools (broker address: a closed port) and
// while it drains (the real test broker), sharing one spool directory.
// Some kills also tear the newest spool record, as a power cut mid-write
// would. After each kill a copy of the spool is opened and read: every
// frame it holds was acknowledged by the spool and must reach the topic.
// Duplicates are allowed (at-least-once) and counted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Logger } from '@frameline/shared';
import { REPO_ROOT, freePort, sharedBroker, waitFor } from '@frameline/shared/testing';
import { scrapeAgentMetric, startAgentProcess as startAgent } from '../support/agent-process.js';

const CAMERA = 'CAMERA-9';
const KILLS = 20;

/** The agent's spool, loaded from its build (test/ does not compile against agent/src). */
interface SpoolModule {
  openSpool(
    options: { dir: string; maxBytes: number; maxAgeMs: number; segmentBytes: number; fsync: 'never'; fsyncIntervalMs: number; maxPendingBytes: number },
    deps: { logger: Logger },
  ): Promise<{
    read(maxRecords: number, maxBytes: number): Promise<{ records: { headers: Record<string, string> }[] } | null>;
    ack(batch: unknown): Promise<void>;
    stats(): { tornRecordsSkipped: number };
    close(): Promise<void>;
  }>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const until = (what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number) => waitFor(what, condition, timeoutMs, 50);

/** Frames (run/seq) in a copy of the spool directory: what the spool holds, unacknowledged, right now. */
async function spooledFrames(spoolModule: SpoolModule, dir: string, logger: Logger): Promise<{ frames: string[]; torn: number }> {
  const copy = await mkdtemp(join(tmpdir(), 'fl-sigkill-copy-'));
  try {
    await cp(dir, copy, { recursive: true });
    const spool = await spoolModule.openSpool(
      { dir: copy, maxBytes: 1 << 30, maxAgeMs: 0, segmentBytes: 1 << 30, fsync: 'never', fsyncIntervalMs: 1000, maxPendingBytes: 1 << 20 },
      { logger },
    );
    const frames: string[] = [];
    for (let batch = await spool.read(10_000, 1 << 28); batch; batch = await spool.read(10_000, 1 << 28)) {
      for (const r of batch.records) frames.push(`${r.headers['fl-run']}/${r.headers['fl-seq']}`);
      await spool.ack(batch);
    }
    const torn = spool.stats().tornRecordsSkipped;
    await spool.close();
    return { frames, torn };
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

/** Cuts the newest segment inside its last record, as a power cut during the write would. */
async function tearNewestRecord(dir: string): Promise<boolean> {
  const segments = (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();
  const newest = segments[segments.length - 1];
  if (!newest) return false;
  const path = join(dir, newest);
  const { size } = await stat(path);
  // Synthetic 320x240 frames are several KiB: a cut of at most 1 KiB stays inside the last one.
  if (size < 4096) return false;
  await truncate(path, size - 1 - Math.floor(Math.random() * 1024));
  return true;
}

test('reliable agent SIGKILLed 20 times while spooling and draining: nothing the spool held is lost', { timeout: 300_000 }, async () => {
  const spoolModule = (await import(join(REPO_ROOT, 'agent/dist/src/delivery/spool.js'))) as SpoolModule;
  const logger = createLogger({ level: 'error', journald: false });
  const broker = await sharedBroker();
  const topics = await broker.topics('sigkill', 1);
  const dir = await mkdtemp(join(tmpdir(), 'fl-sigkill-'));
  const stateDir = join(dir, 'state');
  const spoolDir = join(stateDir, 'spool', CAMERA);
  const metricsPort = await freePort();
  const config = (brokers: string[]) => ({
    camera: { id: CAMERA, source: 'synthetic', width: 320, height: 240, fps: 25 },
    kafka: { brokers, passwordFile: broker.props['sasl.agent.password.file'], caFile: broker.props['ssl.ca'], connectionTimeout: '2s' },
    topics: { frames: topics.frames, backfill: topics.backfill },
    delivery: { mode: 'reliable', backfill: 'inline', sendTimeout: '3s', spool: { segmentBytes: 256 * 1024, fsync: 'interval' } },
    stateDir,
    metrics: { listen: `127.0.0.1:${metricsPort}` },
  });
  const closedPort = `127.0.0.1:${await freePort()}`;
  const configFile = join(dir, 'agent.json');
  const metric = (name: string) => scrapeAgentMetric(metricsPort, name, `{camera="${CAMERA}"}`);

  const acknowledged = new Set<string>();
  /** Frames that left each agent's pipeline for delivery, scraped just before its kill. */
  let submitted = 0;
  let tears = 0;
  let tornSeenInCopies = 0;
  let tornLogged = 0;
  const phases: string[] = [];
  const started = Date.now();
  try {
    for (let i = 0; i < KILLS; i++) {
      const phase = i % 3 === 2 ? 'drain' : 'spool';
      await writeFile(configFile, JSON.stringify(config([phase === 'drain' ? broker.props['bootstrap.external']! : closedPort])));
      const agent = startAgent(configFile);
      // One kill in four lands during start-up (spool recovery); the rest while frames flow.
      const early = i % 4 === 3;
      if (early) await sleep(Math.random() * 1500);
      else await until('agent started', () => /agent started/.test(agent.log()) || agent.child.exitCode !== null, 60_000);
      if (!early) await sleep((phase === 'drain' ? 300 : 100) + Math.random() * (phase === 'drain' ? 1700 : 1000));
      assert.equal(agent.child.exitCode, null, `agent ${i} died by itself:\n${agent.log().slice(-2000)}`);
      const passed = await metric('frames_passed_total');
      agent.child.kill('SIGKILL');
      if (Number.isFinite(passed)) submitted += passed;
      await agent.exited;
      tornLogged += (agent.log().match(/skipped a torn record/g) ?? []).length;
      if (phase === 'spool' && i % 4 === 1 && (await tearNewestRecord(spoolDir))) tears++;
      const snapshot = await spooledFrames(spoolModule, spoolDir, logger);
      tornSeenInCopies += snapshot.torn;
      for (const f of snapshot.frames) acknowledged.add(f);
      phases.push(`${phase}${early ? '(start-up)' : ''}:${snapshot.frames.length}`);
    }

    // Drain to the end, then stop cleanly.
    await writeFile(configFile, JSON.stringify(config([broker.props['bootstrap.external']!])));
    const last = startAgent(configFile);
    await until('the spool drained', async () => (await metric('spool_frames')) === 0 && (await metric('frames_sent_total')) > 0, 90_000);
    tornLogged += (last.log().match(/skipped a torn record/g) ?? []).length;
    submitted += await metric('frames_passed_total');
    last.child.kill('SIGTERM');
    assert.equal(await last.exited, 0, `the last agent exits 0 on SIGTERM\n${last.log().slice(-2000)}`);

    const records = await broker.readRecords(topics.frames, { count: acknowledged.size, timeoutMs: 60_000, settleMs: 3000 });
    const delivered = new Map<string, number>();
    const highestSeq = new Map<string, number>();
    for (const { message } of records) {
      const run = String(message.headers?.['fl-run']);
      const seq = Number(String(message.headers?.['fl-seq']));
      const id = `${run}/${seq}`;
      delivered.set(id, (delivered.get(id) ?? 0) + 1);
      highestSeq.set(run, Math.max(highestSeq.get(run) ?? -1, seq));
    }
    for (const id of acknowledged) {
      const [run, seq] = id.split('/') as [string, string];
      highestSeq.set(run, Math.max(highestSeq.get(run) ?? -1, Number(seq)));
    }
    // Start-up kills may come before /metrics answers: then the highest fl-seq seen is the best count.
    const captured = Math.max(submitted, [...highestSeq.values()].reduce((n, s) => n + s + 1, 0));
    const lost = [...acknowledged].filter((id) => !delivered.has(id));
    const duplicated = records.length - delivered.size;
    const ackedTotal = new Set([...acknowledged, ...delivered.keys()]).size;
    console.log(
      `# agent-sigkill: ${KILLS} kills in ${((Date.now() - started) / 1000).toFixed(0)} s (${phases.join(' ')}); ` +
        `frames captured ${captured}, acknowledged ${ackedTotal} (${acknowledged.size} seen in the spool after a kill; ` +
        `${captured - ackedTotal} not yet in the spool or at the broker when killed), ` +
        `delivered ${delivered.size}, lost ${lost.length}, duplicated ${duplicated}; ` +
        `records torn on purpose ${tears}, skipped by CRC in copies ${tornSeenInCopies}, reported by agents ${tornLogged}`,
    );
    assert.deepEqual(lost.slice(0, 10), [], `${lost.length} frames the spool held never reached the topic`);
    assert.ok(acknowledged.size > 0, 'the spool held frames after some kills');
    assert.ok(tornLogged >= tears, 'every torn record was found and reported by the next agent');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
