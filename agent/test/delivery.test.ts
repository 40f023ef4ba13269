// Delivery against the shared test broker (and, for stop(), against no broker at all).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KafkaMessage } from 'kafkajs';
import { createLogger, encodeFrame, partitionFor, type Frame, type KafkaConnection, type TopicSet } from '@frameline/shared';
import { rawJpeg, sharedBroker, type TestBroker } from '@frameline/shared/testing';
import { createDelivery, openSpool, type Delivery, type DeliveryOptions } from '../src/delivery/index.js';

const logger = createLogger({ level: 'error', scope: 'test' });
let broker: TestBroker;
let topics: TopicSet;
const cleanups: Array<() => Promise<void>> = [];

before(async () => {
  broker = await sharedBroker();
  topics = await broker.topics('delivery', 3);
});

after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function jpeg(seed: number, size = 64, noise = false): Promise<Buffer> {
  return rawJpeg(size, size, noise ? () => randomInt(256) : (i) => (i * (seed + 3)) & 0xff, { quality: 90 });
}

function frame(camera: string, run: string, seq: number, data: Buffer): Frame {
  return { camera, run, seq, capturedAt: Date.now() + 0.25, width: 64, height: 64, motion: 0.125, jpeg: data };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fl-delivery-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function options(over: Partial<DeliveryOptions>): DeliveryOptions {
  return {
    mode: 'live',
    topics: { frames: topics.frames, backfill: topics.backfill },
    kafka: broker.connection('agent', 'external', `agent-${randomUUID().slice(0, 6)}`),
    reconnect: { initialMs: 200, maxMs: 1000 },
    ...over,
  };
}

async function started(o: DeliveryOptions): Promise<Delivery> {
  const d = createDelivery(o, { logger });
  await d.start();
  for (let i = 0; i < 100 && d.status().broker !== 'connected'; i++) await new Promise((r) => setTimeout(r, 100));
  assert.equal(d.status().broker, 'connected', `not connected: ${d.status().lastError}`);
  return d;
}

/** Every record of `run` on `topic` (all partitions), in offset order per partition. */
function consume(topic: string, run: string, expected: number, timeoutMs = 30_000): Promise<{ partition: number; message: KafkaMessage }[]> {
  return broker.readRecords(topic, { count: expected, timeoutMs, filter: (m) => m.headers?.['fl-run']?.toString() === run });
}

test('live mode delivers each frame as the exact frame record, in order, on the partition partitionFor picks', async () => {
  const d = await started(options({ mode: 'live', partitioning: 'key' }));
  const run = randomUUID();
  const images = await Promise.all([0, 1, 2].map((s) => jpeg(s)));
  const sent: Frame[] = [];
  for (let seq = 0; seq < 30; seq++) {
    const f = frame('CAMERA-7', run, seq, images[seq % 3]!);
    sent.push(f);
    d.submit(f);
    await new Promise((r) => setTimeout(r, 10));
  }
  await d.stop();
  assert.equal(d.status().acked, 30);
  assert.equal(d.status().dropped.queueFull, 0);
  const got = await consume(topics.frames, run, 30);
  assert.equal(got.length, 30);
  const partition = partitionFor('CAMERA-7', 3, 'key');
  got.forEach(({ partition: p, message }, i) => {
    const want = encodeFrame(sent[i]!);
    assert.equal(p, partition);
    assert.deepEqual(message.key, want.key);
    assert.deepEqual(message.value, want.value);
    assert.equal(message.timestamp, want.timestamp);
    const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
    assert.deepEqual(headers, want.headers);
  });
});

test('reliable mode splits a burst of large JPEGs into requests under maxBatchBytes and delivers all in order', async () => {
  const big = await Promise.all([0, 1, 2, 3].map((s) => jpeg(s, 160, true)));
  assert.ok(big.every((b) => b.length > 20_000), 'noise JPEGs are large');
  const maxBatchBytes = 3 * big[0]!.length;
  const dir = await tempDir();
  const d = await started(options({ mode: 'reliable', maxBatchBytes, spool: { dir }, partitioning: 'camera-index' }));
  const run = randomUUID();
  for (let seq = 0; seq < 24; seq++) d.submit(frame('CAMERA-2', run, seq, big[seq % 4]!)); // one burst
  await d.stop();
  const s = d.status();
  assert.equal(s.acked, 24, `acked ${s.acked}, lastError ${s.lastError}`);
  assert.equal(s.spooled.frames, 0);
  assert.equal(s.dropped.rejected + s.dropped.tooLarge, 0);
  const got = await consume(topics.frames, run, 24);
  assert.deepEqual(
    got.map((g) => Number(g.message.headers?.['fl-seq']?.toString())),
    Array.from({ length: 24 }, (_, i) => i),
  );
  assert.ok(got.every((g) => g.partition === 1), 'camera-index puts CAMERA-2 on partition 1');
});

test('reliable stop() with the broker unreachable leaves every frame in the spool, complete and in order', async () => {
  const dir = await tempDir();
  const unreachable: KafkaConnection = { ...options({}).kafka, brokers: ['127.0.0.1:1'] };
  const d = createDelivery(options({ mode: 'reliable', kafka: unreachable, spool: { dir, fsync: 'never' } }), { logger });
  await d.start();
  const run = randomUUID();
  const image = await jpeg(9);
  const frames = Array.from({ length: 15 }, (_, seq) => frame('CAMERA-1', run, seq, image));
  for (const f of frames) d.submit(f);
  await d.stop();
  const s = d.status();
  assert.equal(s.policy, 'spooling');
  assert.notEqual(s.broker, 'connected');
  assert.match(s.lastError ?? '', /unreachable/);
  assert.equal(s.spooled.frames, 15);

  const spool = await openSpool({ dir, maxBytes: 1 << 30, maxAgeMs: 0, segmentBytes: 1 << 20, fsync: 'never', fsyncIntervalMs: 1000, maxPendingBytes: 1 << 20 }, { logger });
  const batch = await spool.read(100, 1 << 20);
  await spool.close();
  assert.deepEqual(
    batch?.records,
    frames.map((f) => {
      const { partition: _p, ...m } = encodeFrame(f);
      return m;
    }),
  );
});

test('submit after stop() is counted as dropped, never queued', async () => {
  const d = await started(options({ mode: 'live' }));
  await d.stop();
  d.submit(frame('CAMERA-1', randomUUID(), 0, await jpeg(1)));
  assert.equal(d.status().dropped.stopped, 1);
  assert.equal(d.status().queued.frames, 0);
});
