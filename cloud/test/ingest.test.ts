// Ingest against the real broker: invalid records go to the DLQ unchanged
// and the service keeps serving; foreign producers (kcat, raw JPEGs, camera
// from the partition); backfill frames are inferred late at low priority.
// Plus the offset and window rules in isolation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Producer } from 'kafkajs';
import { createKafka, createLogger, encodeFrame, partitionFor, H, type TopicSet } from '@frameline/shared';
import { sharedBroker, solidJpeg, waitFor, type TestBroker } from '@frameline/shared/testing';
import type { CloudConfig } from '../src/config.js';
import { FAST_TEST_MODEL, testCloudConfig, type Tree } from './support.js';
import { slowModel } from './slow-model.js';
import type { ModelSpec } from '../src/inference/pool/protocol.js';
import { createCloudService, type CloudService, type InferenceRecord } from '../src/service.js';
import { createOffsetTracker } from '../src/ingest/offsets.js';
import { createWindows } from '../src/ingest/window.js';

const run = promisify(execFile);
const logger = createLogger({ level: 'error', scope: 'test' });
let broker: TestBroker;
let producer: Producer;
let images: Buffer[];

before(async () => {
  broker = await sharedBroker();
  producer = createKafka(broker.connection('agent', 'external'), logger).producer();
  await producer.connect();
  images = await Promise.all(Array.from({ length: 6 }, (_, i) =>
    solidJpeg(160, 120, { r: (i * 40) % 256, g: 90, b: 200 - i * 20 }, 70)));
});

after(async () => {
  await producer?.disconnect();
});

function cloudConfig(topics: TopicSet, over: Tree = {}): CloudConfig {
  return testCloudConfig(broker, topics, over);
}

/** Reads a topic from the beginning as the cloud user would. */
async function readTopic(topic: string, count: number, timeoutMs = 30_000) {
  const consumer = createKafka(broker.connection('cloud', 'internal'), logger).consumer({
    groupId: `frameline-test-read-${randomUUID().slice(0, 8)}`, maxBytesPerPartition: 34 << 20, maxBytes: 34 << 20,
  });
  const got: { key: Buffer | null; value: Buffer | null; headers: Record<string, string>; timestamp: string }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        got.push({ key: message.key, value: message.value, headers, timestamp: message.timestamp });
      },
    });
    await waitFor(`${count} records on ${topic}`, () => got.length >= count, timeoutMs);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

function frameMessage(camera: string, run: string, seq: number, jpeg: Buffer, capturedAt = Date.now()) {
  return { ...encodeFrame({ camera, run, seq, capturedAt, width: 160, height: 120, jpeg }), partition: partitionFor(camera, 3, 'key') };
}

async function withService<T>(config: CloudConfig, body: (s: CloudService, results: InferenceRecord[]) => Promise<T>, model: ModelSpec = FAST_TEST_MODEL): Promise<T> {
  const service = createCloudService(config, { logger, model });
  const results: InferenceRecord[] = [];
  service.onResult((r) => void results.push(r));
  await service.start();
  try {
    return await body(service, results);
  } finally {
    await service.stop();
  }
}

test('offsets are committable only below the lowest frame still in work', () => {
  const t = createOffsetTracker();
  const a = t.track('f', 0, '10');
  const b = t.track('f', 0, '11');
  const c = t.track('f', 0, '12');
  assert.deepEqual(t.pending(), [{ topic: 'f', partition: 0, offset: '10' }]);
  b.complete();
  c.complete();
  assert.equal(t.pending()[0]!.offset, '10', 'frame 10 is still in work');
  a.complete();
  assert.equal(t.pending()[0]!.offset, '13');
  t.markCommitted(t.pending());
  assert.deepEqual(t.pending(), []);
  const d = t.track('f', 0, '13');
  t.reset();
  d.complete();
  assert.deepEqual(t.pending(), [], 'a ticket from before a rebalance changes nothing');
});

test('a camera window keeps the latest frames in order, counts gaps and resets on a new run', () => {
  const w = createWindows(3);
  const f = (run: string, seq: number) => ({ camera: 'CAMERA-1', run, seq, capturedAt: seq, width: 1, height: 1, jpeg: Buffer.alloc(0) });
  for (const seq of [0, 1, 2, 5]) w.push(f('r1', seq), 0);
  assert.deepEqual(w.get('CAMERA-1')!.entries().map((e) => e.frame.seq), [1, 2, 5]);
  assert.equal(w.get('CAMERA-1')!.gaps, 2);
  assert.equal(w.push(f('r1', 4), 0).stale, true);
  assert.equal(w.push(f('r2', 0), 0).reset, true);
  assert.deepEqual(w.get('CAMERA-1')!.entries().map((e) => e.frame.seq), [0]);
  assert.equal(w.get('CAMERA-1')!.gaps, 0);
});

test('invalid records go to the DLQ with their bytes and headers plus fl-error, and good frames after them are still inferred', async () => {
  const topics = await broker.topics('ingest-dlq');
  const run_ = randomUUID();
  const camera = 'CAMERA-1';
  const good = (seq: number) => frameMessage(camera, run_, seq, images[seq % images.length]!);
  const withBody = (seq: number, value: Buffer) => ({ ...good(seq), value });
  const garbage = [
    { m: withBody(1, randomBytes(5000)), code: 'not-jpeg' },
    { m: withBody(2, images[0]!.subarray(0, images[0]!.length - 200)), code: 'truncated-jpeg' },
    { m: withBody(3, Buffer.alloc(0)), code: 'empty-value' },
    { m: { key: Buffer.from(camera), value: images[1]!, partition: partitionFor(camera, 3, 'key'), headers: {} as Record<string, string> }, code: 'missing-header' },
    { m: withBody(4, randomBytes(20_000_000)), code: 'oversized-value' },
  ];
  await producer.send({ topic: topics.frames, acks: -1, messages: [good(0)] });
  for (const g of garbage) await producer.send({ topic: topics.frames, acks: -1, messages: [g.m] });
  await producer.send({ topic: topics.frames, acks: -1, messages: [good(5), good(6)] });

  // The backlog's age is real (no clock correction from a backlog), so allow for a slow start.
  await withService(cloudConfig(topics, { scheduler: { maxLagMs: '2m' } }), async (service, results) => {
    await waitFor('the result of the last good frame', () => results.some((r) => r.seq === 6), 60_000);
    assert.ok(results.every((r) => [0, 5, 6].includes(r.seq)), `only good frames are inferred: ${results.map((r) => r.seq).join(',')}`);
    assert.ok(results.every((r) => r.camera === camera && r.frame.width === 160 && r.frame.height === 120));
    assert.equal(service.counts().dlq, garbage.length);
    const health = await service.health();
    assert.equal(health.ok, true, JSON.stringify(health));
  });

  const dead = await readTopic(topics.dlq, garbage.length, 60_000);
  assert.equal(dead.length, garbage.length);
  for (const [i, g] of garbage.entries()) {
    const d = dead[i]!;
    assert.ok(d.value?.equals(g.m.value) || (g.m.value.length === 0 && (d.value === null || d.value.length === 0)), `record ${g.code}: original bytes`);
    assert.ok(d.headers[H.error]!.startsWith(`${g.code}: `), `record ${g.code}: fl-error is ${d.headers[H.error]}`);
    const { [H.error]: _e, ...rest } = d.headers;
    assert.deepEqual(rest, g.m.headers, `record ${g.code}: original headers`);
    assert.equal(d.key?.toString(), camera);
  }
});

test('cameraFrom "partition": raw JPEGs produced by kcat to partition N are inferred as CAMERA-(N+1)', async () => {
  const topics = await broker.topics('ingest-kcat');
  const dir = mkdtempSync(join(tmpdir(), 'fl-kcat-jpeg-'));
  const files = images.slice(0, 3).map((img, i) => {
    const f = join(dir, `frame-${i}.jpg`);
    writeFileSync(f, img);
    return f;
  });
  const conf = broker.kcatConfig('agent', 'external');
  await withService(cloudConfig(topics, { ingest: { cameraFrom: 'partition' }, scheduler: { maxLagMs: '30s' } }), async (_service, results) => {
    await run('kcat', ['-F', conf, '-P', '-t', topics.frames, '-p', '1', ...files], { timeout: 30_000 });
    await run('kcat', ['-F', conf, '-P', '-t', topics.frames, '-p', '2', files[0]!], { timeout: 30_000 });
    // Partition 1 has three frames and partition 2 one: the first two results
    // may both be CAMERA-2, so wait for a result of each camera.
    await waitFor('a result for each camera', () => ['CAMERA-2', 'CAMERA-3'].every((c) => results.some((r) => r.camera === c)), 60_000);
    const records = (await readTopic(topics.inferences, results.length, 60_000)).map((r) => JSON.parse(r.value!.toString()) as InferenceRecord);
    const cams = new Set(records.map((r) => r.camera));
    assert.ok(cams.has('CAMERA-2') && cams.has('CAMERA-3'), `cameras: ${[...cams].join(',')}`);
    for (const r of records) {
      assert.equal(r.schema, 1);
      assert.equal(r.run, `${topics.frames}/${Number(r.camera.slice(7)) - 1}`);
      assert.deepEqual(r.frame, { width: 160, height: 120 });
      assert.ok(r.capturedAt > Date.now() - 120_000 && r.capturedAt <= r.ingestedAt + 1000, 'capture time from the record timestamp');
      assert.ok(r.inferredAt >= r.ingestedAt && r.publishedAt! >= r.inferredAt);
    }
  });
});

test('backfill frames are all inferred in order, marked late, with only the capacity live frames leave free', async () => {
  const topics = await broker.topics('ingest-backfill');
  const camera = 'CAMERA-2';
  const spooled = randomUUID();
  const hourAgo = Date.now() - 3_600_000;
  const backlog = Array.from({ length: 12 }, (_, seq) => frameMessage(camera, spooled, seq, images[seq % images.length]!, hourAgo + seq * 100));
  await producer.send({ topic: topics.backfill, acks: -1, messages: backlog });
  const config = cloudConfig(topics, { scheduler: { maxLagMs: '1s', maxBatch: 2 }, ingest: { backfillQueue: 4 } });
  await withService(config, async (service, results) => {
    const live = randomUUID();
    for (let seq = 0; seq < 16; seq++) {
      await producer.send({ topic: topics.frames, acks: -1, messages: [frameMessage(camera, live, seq, images[seq % images.length]!)] });
      await new Promise((r) => setTimeout(r, 250));
    }
    await waitFor('every backfill result', () => results.filter((r) => r.late).length >= backlog.length, 60_000);
    const late = results.filter((r) => r.late);
    const onTime = results.filter((r) => !r.late);
    assert.deepEqual(late.map((r) => r.seq), backlog.map((_, i) => i), 'every spooled frame, in order');
    assert.ok(late.every((r) => r.run === spooled && r.skippedSince === undefined));
    assert.ok(onTime.length >= 10, `live frames kept being inferred (${onTime.length} of 16)`);
    assert.ok(onTime.every((r) => r.run === live && r.timings.ageMs! < 1000), 'live frames stayed within maxLagMs while backfill waited');
    assert.equal(service.counts().skipped['too-old'], 0);
    const firstLate = results.findIndex((r) => r.late);
    assert.ok(results.slice(firstLate).some((r) => !r.late) && late.length > 0, 'backfill interleaved with live results');
  }, slowModel({ msPerFrame: 100 }));
});
