// Live mode against a broker that is up but slow: a produce quota of 100 KB/s
// on this test's client id (Kafka throttles by delaying its responses), while
// the camera offers about 1 MB/s. The queue must stay at its bound, the
// oldest frames must be dropped and counted, memory must stay flat, and the
// frames that do go out must be the newest ones, in order.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createLogger, decodeFrame } from '@frameline/shared';
import { noisyJpeg, sharedBroker } from '@frameline/shared/testing';
import { createDelivery } from '../src/delivery/index.js';

const logger = createLogger({ level: 'error', scope: 'test' });
const QUEUE = { maxFrames: 10, maxBytes: 2 << 20 };

test('live mode under a throttled broker keeps its queue and memory bounded and counts the drops', { timeout: 120_000 }, async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('throttle', 1);
  const clientId = `throttled-${randomUUID().slice(0, 8)}`;
  await broker.kafkaTool('kafka.admin.ConfigCommand', ['--bootstrap-server', '{bootstrap}', '--command-config', '{config}',
    '--alter', '--add-config', 'producer_byte_rate=100000', '--entity-type', 'clients', '--entity-name', clientId]);
  t.after(() => broker.kafkaTool('kafka.admin.ConfigCommand', ['--bootstrap-server', '{bootstrap}', '--command-config', '{config}',
    '--alter', '--delete-config', 'producer_byte_rate', '--entity-type', 'clients', '--entity-name', clientId]).catch(() => {}));

  const delivery = createDelivery({
    mode: 'live', topics: { frames: topics.frames, backfill: topics.backfill },
    kafka: { ...broker.connection('agent', 'external'), clientId },
    queue: QUEUE, maxBatchBytes: 256 << 10, sendTimeoutMs: 10_000,
  }, { logger });
  await delivery.start();
  const images = await Promise.all([1, 2, 3, 4, 5].map((s) => noisyJpeg(320, 240, s)));
  const frameBytes = images[0]!.length;
  const run = randomUUID();

  // 20 fps × ~50 KB for 20 s: ten times what the quota lets through.
  let seq = 0;
  let maxQueued = 0;
  const heapSamples: number[] = [];
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      delivery.submit({ camera: 'CAMERA-1', run, seq: seq++, capturedAt: Date.now(), width: 320, height: 240, jpeg: images[seq % images.length]! });
      maxQueued = Math.max(maxQueued, delivery.status().queued.frames);
      if (seq % 20 === 0) heapSamples.push(process.memoryUsage().heapUsed);
      if (Date.now() - started > 20_000) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
  });
  const status = delivery.status();
  await delivery.stop();
  // stop() flushes what was still queued, so more may be acknowledged by now
  const finalAcked = delivery.status().acked;
  t.diagnostic(`offered ${seq} frames of ~${Math.round(frameBytes / 1024)} KiB; acked ${status.acked}, dropped ${JSON.stringify(status.dropped)}, max queued ${maxQueued}`);
  const growthMiB = (heapSamples.at(-1)! - heapSamples[2]!) / 2 ** 20;
  t.diagnostic(`heap after 3 s ${(heapSamples[2]! / 2 ** 20).toFixed(1)} MiB, at the end ${(heapSamples.at(-1)! / 2 ** 20).toFixed(1)} MiB`);

  assert.ok(maxQueued <= QUEUE.maxFrames, `queue stayed within ${QUEUE.maxFrames} frames (max ${maxQueued})`);
  assert.ok(status.dropped.queueFull > seq / 2, `most frames dropped as queueFull (${status.dropped.queueFull} of ${seq})`);
  assert.ok(status.acked > 0 && status.acked < seq / 2, `the throttled broker took some frames (${status.acked})`);
  assert.ok(growthMiB < 40, `heap grew ${growthMiB.toFixed(1)} MiB`);

  // What arrived is in order, and later frames won over older ones.
  const records = await broker.readRecords(topics.frames, { count: finalAcked, settleMs: 1000 });
  const seqs = records.map(({ message }) => decodeFrame({ ...message, value: message.value }, { maxBytes: 1 << 24 }).seq);
  // A request still in flight when stop() gave up may land after all: more than acknowledged is fine, twice is not.
  assert.ok(seqs.length >= finalAcked, `every acknowledged frame read back (${seqs.length} of ${finalAcked})`);
  assert.equal(new Set(seqs).size, seqs.length, 'no frame twice');
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'strictly in capture order');
  // Dropping the oldest keeps sending recent frames all along; dropping the
  // newest would have sent only the first few dozen. (How recent the last
  // acknowledged frame is depends on the throttle and the machine's load.)
  assert.ok(seqs.at(-1)! > seq * 0.6, `recent frames went out to the end (last sent ${seqs.at(-1)} of ${seq})`);
});
