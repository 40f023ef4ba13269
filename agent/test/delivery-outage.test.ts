// Delivery through a broker outage, against a private broker that this test
// stops for ~30 s while frames stream at 10 fps. One outage serves four
// deliveries at once (the machine is small): reliable inline, reliable
// separate, live, and a reliable agent in a child process that is SIGKILLed
// with a full spool and restarted once the broker is back.
//
// The same file is the child's program: with FL_DELIVERY_CHILD set it runs
// one agent's delivery instead of the tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import type { KafkaMessage } from 'kafkajs';
import { Secret, createLogger, type Frame, type KafkaConnection, type Logger } from '@frameline/shared';
import { rawJpeg, startPrivateBroker, type PrivateBroker } from '@frameline/shared/testing';
import { createDelivery, type Delivery, type DeliveryOptions, type DeliveryStatus } from '../src/delivery/index.js';

const OUTAGE_MS = Number(process.env.FRAMELINE_TEST_OUTAGE_MS ?? 30_000);
const FPS = 10;
const LIVE_QUEUE = { maxFrames: 20, maxBytes: 1 << 20 };

interface ChildConfig {
  brokers: string[];
  caFile: string;
  username: string;
  passwordFile: string;
  topics: { frames: string; backfill: string };
  spoolDir: string;
  run: string;
  stream: boolean;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function sinkLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _e, done) {
      if (lines.length < 5000) lines.push(String(chunk).trimEnd());
      done();
    },
  });
  return { logger: createLogger({ level: 'warn', stream, journald: false }), lines };
}

async function jpegs(n: number): Promise<Buffer[]> {
  return Promise.all(
    Array.from({ length: n }, (_, seed) => rawJpeg(64, 48, (i) => (i * (seed + 3) + seed * 17) & 0xff)),
  );
}

function frame(run: string, seq: number, images: Buffer[]): Frame {
  return { camera: 'CAMERA-1', run, seq, capturedAt: Date.now(), width: 64, height: 48, jpeg: images[seq % images.length]! };
}

const testTuning: Partial<DeliveryOptions> = {
  reconnect: { initialMs: 200, maxMs: 1000 },
  sendTimeoutMs: 3000,
  connectionTimeoutMs: 2000,
};

// ------------------------------------------------------------------ child

async function childMain(cfg: ChildConfig): Promise<void> {
  const emit = (o: object) => process.stdout.write(JSON.stringify(o) + '\n');
  const kafka: KafkaConnection = {
    brokers: cfg.brokers,
    clientId: `agent-child-${process.pid}`,
    security: 'sasl_ssl',
    username: cfg.username,
    password: new Secret(readFileSync(cfg.passwordFile, 'utf8').trim(), cfg.passwordFile),
    caFile: cfg.caFile,
  };
  const { logger } = sinkLogger();
  const d = createDelivery(
    { mode: 'reliable', backfill: 'inline', topics: cfg.topics, kafka, spool: { dir: cfg.spoolDir, fsync: 'interval', fsyncIntervalMs: 500 }, ...testTuning },
    { logger },
  );
  await d.start();
  emit({ event: 'started', status: d.status() });
  const images = await jpegs(4);
  let seq = 0;
  const streamer = cfg.stream ? setInterval(() => d.submit(frame(cfg.run, seq++, images)), 1000 / FPS) : undefined;
  const reporter = setInterval(() => emit({ event: 'status', lastSeq: seq - 1, status: d.status() }), 250);
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (line.trim() !== 'pause') return;
    clearInterval(streamer);
    // Let the spool's writer put the last frames in the file (page cache survives SIGKILL).
    setTimeout(() => emit({ event: 'paused', lastSeq: seq - 1, status: d.status() }), 500);
  });
  if (!cfg.stream) {
    for (;;) {
      const s = d.status();
      if (s.broker === 'connected' && s.spooled.frames === 0) break;
      await sleep(100);
    }
    clearInterval(reporter);
    await d.stop();
    emit({ event: 'drained', status: d.status() });
    process.exit(0);
  }
}

// ------------------------------------------------------------------ parent

interface Child {
  proc: ChildProcess;
  events: Array<{ event: string; lastSeq?: number; status?: DeliveryStatus }>;
  next(event: string, timeoutMs: number): Promise<{ lastSeq?: number; status?: DeliveryStatus }>;
}

function spawnChild(cfg: ChildConfig): Child {
  const proc = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
    env: { ...process.env, FL_DELIVERY_CHILD: JSON.stringify(cfg) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const events: Child['events'] = [];
  const waiters: Array<() => void> = [];
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line));
    } catch {
      return;
    }
    for (const w of waiters.splice(0)) w();
  });
  return {
    proc,
    events,
    async next(event, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = events.find((e) => e.event === event);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`child did not report "${event}" within ${timeoutMs} ms`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 200);
        });
      }
    },
  };
}

function consume(broker: PrivateBroker, topic: string, run: string, expected: number, timeoutMs = 60_000): Promise<{ partition: number; message: KafkaMessage }[]> {
  // Waits a second past the expected count to catch duplicates.
  return broker.readRecords(topic, { count: expected, timeoutMs, settleMs: 1000, filter: (m) => m.headers?.['fl-run']?.toString() === run });
}

const seqs = (records: { message: KafkaMessage }[]) => records.map((r) => Number(r.message.headers?.['fl-seq']?.toString()));
const range = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
const strictlyIncreasing = (xs: number[]) => xs.every((x, i) => i === 0 || x > xs[i - 1]!);

async function waitUntil(cond: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
  return Date.now();
}

if (process.env.FL_DELIVERY_CHILD) {
  await childMain(JSON.parse(process.env.FL_DELIVERY_CHILD) as ChildConfig);
} else {
  test('delivery through a broker outage', { timeout: 6 * 60_000 }, async (t) => {
    const broker = await startPrivateBroker('agent-delivery-outage', 29310);
    const dirs: string[] = [];
    const deliveries: Delivery[] = [];
    const children: Child[] = [];
    try {
      // One after the other: the runner's provisioning does not like running concurrently.
      const tInline = await broker.topics('inline', 3);
      const tSeparate = await broker.topics('separate', 3);
      const tLive = await broker.topics('live', 3);
      const tKill = await broker.topics('kill', 3);
      const images = await jpegs(8);
      const tempDir = async () => {
        const d = await mkdtemp(join(tmpdir(), 'fl-outage-'));
        dirs.push(d);
        return d;
      };
      const log = sinkLogger();
      const base = (topics: { frames: string; backfill: string }, name: string): DeliveryOptions => ({
        mode: 'reliable',
        topics: { frames: topics.frames, backfill: topics.backfill },
        kafka: broker.connection('agent', 'external', `agent-${name}`),
        ...testTuning,
      });

      // Separate mode: when do live (unspooled) frames get acknowledged again?
      const separateLiveAcks: number[] = [];
      const inline = createDelivery({ ...base(tInline, 'inline'), backfill: 'inline', spool: { dir: await tempDir(), fsync: 'interval' } }, { logger: log.logger });
      const separate = createDelivery(
        {
          ...base(tSeparate, 'separate'),
          backfill: 'separate',
          spool: { dir: await tempDir(), fsync: 'interval' },
          drainRate: { framesPerSec: 40 },
          onSent: (_ms, s) => {
            if (!s.spooled && s.topic === 'frames') separateLiveAcks.push(Date.now());
          },
        },
        { logger: log.logger },
      );
      const live = createDelivery({ ...base(tLive, 'live'), mode: 'live', queue: LIVE_QUEUE }, { logger: log.logger });
      deliveries.push(inline, separate, live);
      await Promise.all(deliveries.map((d) => d.start()));
      await waitUntil(() => deliveries.every((d) => d.status().broker === 'connected'), 30_000, 'all deliveries connected');

      const killSpool = await tempDir();
      const props = broker.props;
      const childCfg = (stream: boolean): ChildConfig => ({
        brokers: [props['bootstrap.external']!],
        caFile: props['ssl.ca']!,
        username: props['sasl.agent.username']!,
        passwordFile: props['sasl.agent.password.file']!,
        topics: { frames: tKill.frames, backfill: tKill.backfill },
        spoolDir: killSpool,
        run: childRun,
        stream,
      });
      const childRun = randomUUID();
      const child1 = spawnChild(childCfg(true));
      children.push(child1);
      await child1.next('started', 30_000);

      // Stream to the three in-process deliveries.
      const runs = { inline: randomUUID(), separate: randomUUID(), live: randomUUID() };
      const next = { inline: 0, separate: 0, live: 0 };
      const stream = setInterval(() => {
        inline.submit(frame(runs.inline, next.inline++, images));
        separate.submit(frame(runs.separate, next.separate++, images));
        live.submit(frame(runs.live, next.live++, images));
      }, 1000 / FPS);

      // Observe states and the live queue every 50 ms.
      let liveQueueMax = 0;
      let down = false;
      const connectedAt: Record<string, number | undefined> = {};
      const sampler = setInterval(() => {
        liveQueueMax = Math.max(liveQueueMax, live.status().queued.frames);
        if (!down) return;
        for (const [name, d] of Object.entries({ inline, separate, live })) {
          if (connectedAt[name] === undefined && d.status().broker === 'connected') connectedAt[name] = Date.now();
        }
      }, 50);

      await sleep(3000);
      const heapBefore = process.memoryUsage().heapUsed;
      const tDown = Date.now();
      await broker.stop();
      down = true;
      t.diagnostic(`broker stopped in ${Date.now() - tDown} ms`);

      // Kill the child with a non-empty spool, a few seconds before the broker returns.
      await sleep(Math.max(0, tDown + OUTAGE_MS - 4000 - Date.now()));
      const spooledSeen = child1.events.filter((e) => e.event === 'status').some((e) => (e.status?.spooled.frames ?? 0) > 0);
      child1.proc.stdin!.write('pause\n');
      const paused = await child1.next('paused', 10_000);
      child1.proc.kill('SIGKILL');
      await new Promise((r) => child1.proc.once('exit', r));
      const childLastSeq = paused.lastSeq!;
      const childSpooled = paused.status!.spooled.frames;

      const outageStatus = { inline: inline.status(), separate: separate.status(), live: live.status() };
      const heapDuring = process.memoryUsage().heapUsed;
      await sleep(Math.max(0, tDown + OUTAGE_MS - Date.now()));
      await broker.start();
      const tUp = Date.now();
      t.diagnostic(`outage lasted ${tUp - tDown} ms (broker start took part of it)`);
      const child2 = spawnChild(childCfg(false));
      children.push(child2);

      await waitUntil(() => connectedAt.inline !== undefined, 60_000, 'inline reconnect');
      const tCaughtUp = await waitUntil(() => inline.status().spooled.frames === 0 && inline.status().policy === 'direct', 90_000, 'inline catch-up');
      await waitUntil(() => separate.status().spooled.frames === 0 && connectedAt.separate !== undefined, 120_000, 'separate backfill drained');
      const drained = await child2.next('drained', 120_000);
      await sleep(2000);
      clearInterval(stream);
      clearInterval(sampler);
      await Promise.all(deliveries.map((d) => d.stop()));
      const final = { inline: inline.status(), separate: separate.status(), live: live.status() };

      const catchUpMs = tCaughtUp - connectedAt.inline!;
      const sepConnected = connectedAt.separate!;
      const firstLiveAck = separateLiveAcks.find((x) => x >= sepConnected);
      const liveResumeMs = firstLiveAck === undefined ? Infinity : firstLiveAck - sepConnected;
      t.diagnostic(`inline: reconnected ${connectedAt.inline! - tUp} ms after broker start returned; caught up to live ${catchUpMs} ms after reconnect; drained ${final.inline.backfillSent} spooled frames`);
      t.diagnostic(`separate: live frames acknowledged again ${liveResumeMs} ms after reconnect; backfill sent ${final.separate.backfillSent}`);
      t.diagnostic(`live: queue max ${liveQueueMax} (bound ${LIVE_QUEUE.maxFrames}), dropped ${JSON.stringify(final.live.dropped)}, heap ${((heapDuring - heapBefore) / 1e6).toFixed(1)} MB over the outage`);
      t.diagnostic(`child: SIGKILLed with ${childSpooled} spooled frames (last seq ${childLastSeq}); restarted child drained ${drained.status?.backfillSent}`);

      await t.test('reliable inline: every frame arrives on the frames topic, in order, no gaps, no duplicates', async () => {
        assert.equal(outageStatus.inline.policy, 'spooling');
        assert.ok(outageStatus.inline.spooled.frames > OUTAGE_MS / 1000 * FPS * 0.5, `spooled ${outageStatus.inline.spooled.frames} during the outage`);
        const got = await consume(broker, tInline.frames, runs.inline, next.inline);
        assert.deepEqual(seqs(got), range(0, next.inline - 1));
        assert.equal(new Set(got.map((g) => g.partition)).size, 1);
        assert.equal(final.inline.spooled.frames, 0);
      });

      await t.test('reliable inline: catches up to live within 30 s of reconnecting', () => {
        assert.ok(catchUpMs < 30_000 * 1.5, `caught up after ${catchUpMs} ms`);
      });

      await t.test('reliable separate: live frames resume within 2 s of reconnect (margin for a noisy machine)', () => {
        assert.ok(liveResumeMs < 2000 * 2.5, `live frames resumed ${liveResumeMs} ms after reconnect`);
      });

      await t.test('reliable separate: the outage window goes to the backfill topic in order, the rest to the frames topic in order', async () => {
        const [onFrames, onBackfill] = await Promise.all([
          consume(broker, tSeparate.frames, runs.separate, next.separate - final.separate.backfillSent),
          consume(broker, tSeparate.backfill, runs.separate, final.separate.backfillSent),
        ]);
        const f = seqs(onFrames);
        const b = seqs(onBackfill);
        assert.ok(b.length > OUTAGE_MS / 1000 * FPS * 0.5, `backfill has ${b.length} frames`);
        assert.ok(strictlyIncreasing(f), 'frames topic strictly ordered');
        assert.deepEqual(b, range(b[0]!, b[b.length - 1]!), 'backfill is the contiguous outage window, in order');
        assert.deepEqual([...f, ...b].sort((x, y) => x - y), range(0, next.separate - 1), 'every frame exactly once');
        assert.equal(onBackfill[0]!.message.key?.toString(), 'CAMERA-1');
        assert.equal(onBackfill[0]!.message.headers?.['fl-run']?.toString(), runs.separate);
      });

      await t.test('live: the queue stays within its bound, drops are counted, memory stays flat', async () => {
        assert.equal(outageStatus.live.policy, 'dropping');
        assert.ok(liveQueueMax <= LIVE_QUEUE.maxFrames, `queue reached ${liveQueueMax}`);
        const d = final.live.dropped;
        assert.ok(d.queueFull > OUTAGE_MS / 1000 * FPS * 0.5, `queueFull drops ${d.queueFull}`);
        const dropsTotal = Object.values(d).reduce((a, b) => a + b, 0);
        assert.equal(final.live.acked + dropsTotal, next.live, 'every frame is acknowledged or counted as dropped');
        assert.ok(heapDuring - heapBefore < 64e6, `heap grew ${heapDuring - heapBefore} bytes`);
        const got = await consume(broker, tLive.frames, runs.live, final.live.acked);
        assert.ok(strictlyIncreasing(seqs(got)));
        assert.equal(got.length, final.live.acked);
      });

      await t.test('an agent SIGKILLed with a non-empty spool drains it after restart: every frame arrives in order', async (tt) => {
        assert.ok(spooledSeen && childSpooled > 0, `the child had spooled ${childSpooled} frames when killed`);
        assert.equal(drained.status?.spooled.frames, 0);
        const got = seqs(await consume(broker, tKill.frames, childRun, childLastSeq + 1));
        // At least once across a SIGKILL: a frame the broker wrote while its acknowledgement was lost (the
        // outage began mid-request) is sent again from the spool. Order is by first appearance; the cloud
        // drops the repeat by (fl-run, fl-seq).
        const firsts = got.filter((seq, i) => got.indexOf(seq) === i);
        const duplicated = got.length - firsts.length;
        tt.diagnostic(`${got.length} records for ${childLastSeq + 1} frames: ${duplicated} duplicated`);
        assert.deepEqual(firsts, range(0, childLastSeq), 'every frame, in order of first appearance');
        assert.ok(duplicated <= 100, `${duplicated} duplicates: more than one request's worth`);
      });
    } finally {
      for (const c of children) if (c.proc.exitCode === null) c.proc.kill('SIGKILL');
      await Promise.allSettled(deliveries.map((d) => d.stop()));
      await broker.destroy();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    }
  });
}
