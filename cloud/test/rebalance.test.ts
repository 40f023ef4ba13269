// Two cloud instances in one consumer group on the real broker: the second
// joins mid-stream (rebalance), then the first stops (its partitions move).
// Both infer, the survivor ends up serving every camera, and when the stream
// is over the group has committed everything: no partition is left stuck.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';
import { sharedBroker, solidJpeg } from '@frameline/shared/testing';
import { createCloudService, type InferenceRecord } from '../src/service.js';
import { FAST_TEST_MODEL, testCloudConfig } from './support.js';

const logger = createLogger({ level: 'error', scope: 'test' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a second instance joins and the first leaves mid-stream: work moves, offsets all committed', { timeout: 180_000 }, async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('rebalance');
  const groupId = `frameline-test-${randomUUID().slice(0, 8)}`;
  const config = () => testCloudConfig(broker, topics, { kafka: { groupId }, ingest: { commitInterval: '500ms' } });
  const results = { a: [] as InferenceRecord[], b: [] as InferenceRecord[] };
  const a = createCloudService(config(), { logger, model: FAST_TEST_MODEL });
  const b = createCloudService(config(), { logger, model: FAST_TEST_MODEL });
  a.onResult((r) => void results.a.push(r));
  b.onResult((r) => void results.b.push(r));

  const producer = createKafka(broker.connection('agent', 'external'), logger).producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  const jpeg = await solidJpeg(64, 48, '#335577');
  const cameras = ['CAMERA-1', 'CAMERA-2', 'CAMERA-3'];
  const run = randomUUID();
  let seq = 0;
  let producing = true;
  const stream = (async () => {
    while (producing) {
      const capturedAt = Date.now();
      await producer.send({
        topic: topics.frames,
        messages: cameras.map((camera) => ({ ...encodeFrame({ camera, run, seq, capturedAt, width: 64, height: 48, jpeg }), partition: partitionFor(camera, 3, 'camera-index') })),
      });
      seq++;
      await sleep(100);
    }
  })();

  await a.start();
  await sleep(4000);
  await b.start(); // rebalance: the partitions are split between a and b
  await sleep(8000);
  const aBeforeStop = results.a.length;
  const bBeforeStop = results.b.length;
  await a.stop(); // a leaves: b gets every partition
  const bAtStop = results.b.length;
  await sleep(8000);
  producing = false;
  await stream;
  const lastSeq = seq - 1;

  // b serves every camera after a left, up to the newest frames
  const deadline = Date.now() + 30_000;
  const newest = () => new Map(cameras.map((c) => [c, Math.max(-1, ...results.b.filter((r) => r.camera === c).map((r) => r.seq))]));
  while ([...newest().values()].some((s) => s < lastSeq - 5) && Date.now() < deadline) await sleep(200);
  t.diagnostic(`frames per camera ${seq}; results a=${results.a.length} (before stop ${aBeforeStop}), b=${results.b.length} (${bBeforeStop} before a stopped, ${bAtStop} at its stop)`);
  assert.ok(aBeforeStop > 0 && bBeforeStop > 0, 'both instances inferred while both were in the group');
  for (const [camera, s] of newest()) assert.ok(s >= lastSeq - 5, `b reached ${camera}'s newest frames (seq ${s} of ${lastSeq})`);

  // Everything consumed is committed once it is done: no partition stuck behind a lost ticket.
  const admin = broker.admin();
  await admin.connect();
  t.after(() => admin.disconnect());
  let lag = Infinity;
  const lagDeadline = Date.now() + 20_000;
  while (lag > 0 && Date.now() < lagDeadline) {
    const committed = (await admin.fetchOffsets({ groupId, topics: [topics.frames] }))[0]!.partitions;
    const ends = await admin.fetchTopicOffsets(topics.frames);
    lag = ends.reduce((n, e) => n + Number(e.high) - Number(committed.find((c) => c.partition === e.partition)?.offset ?? 0), 0);
    if (lag > 0) await sleep(500);
  }
  await b.stop();
  assert.equal(lag, 0, 'the group committed every frame');
  // Per instance, per camera, results come out in order.
  for (const list of [results.a, results.b]) {
    for (const camera of cameras) {
      const seqs = list.filter((r) => r.camera === camera).map((r) => r.seq);
      assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y), `${camera} in order`);
    }
  }
});
