// kafkajs puts all of one send()'s records for a partition into one record
// batch, and the broker rejects a batch over the topic's max.message.bytes.
// A burst of large JPEGs (a spool draining after an outage) must therefore
// be split: here against a topic limited to Kafka's default 1 MB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, decodeFrame, encodeFrame, type Frame } from '@frameline/shared';
import { noisyJpeg, sharedBroker } from '@frameline/shared/testing';
import { createDelivery } from '../src/delivery/index.js';

const logger = createLogger({ level: 'error', scope: 'test' });
const TOPIC_LIMIT = 1_048_588; // Kafka's default max.message.bytes

test('a burst of 40 large frames reaches a 1 MB-limited topic whole and in order', { timeout: 120_000 }, async () => {
  const broker = await sharedBroker();
  const topics = await broker.topics('burst', 1);
  const admin = broker.admin();
  await admin.connect();
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: topics.frames, configEntries: [{ name: 'max.message.bytes', value: String(TOPIC_LIMIT) }] }] });
  await admin.disconnect();

  const images = await Promise.all([1, 2, 3, 4].map((s) => noisyJpeg(640, 480, s, 85)));
  assert.ok(images[0]!.length > 200_000, `frames of ${images[0]!.length} bytes`);
  const run = randomUUID();
  const frames: Frame[] = Array.from({ length: 40 }, (_, seq) => ({ camera: 'CAMERA-1', run, seq, capturedAt: Date.now() + seq, width: 640, height: 480, jpeg: images[seq % 4]! }));

  // What the broker does with the burst in one send: refuses it.
  const naive = createKafka(broker.connection('agent', 'external'), logger).producer();
  await naive.connect();
  const refused = await naive.send({ topic: topics.frames, acks: -1, messages: frames.map((f) => ({ ...encodeFrame(f), partition: 0 })) }).then(() => undefined, (e: unknown) => e);
  await naive.disconnect();
  assert.match(String((refused as Error | undefined)?.message ?? refused), /too large|MESSAGE_TOO_LARGE|larger than/i, 'one send() of the whole burst is rejected');

  const delivery = createDelivery({
    mode: 'reliable', topics: { frames: topics.frames, backfill: topics.backfill }, kafka: broker.connection('agent', 'external'),
    spool: { dir: mkdtempSync(join(tmpdir(), 'fl-burst-')) }, queue: { maxFrames: 100, maxBytes: 64 << 20 }, maxBatchBytes: 1_000_000,
  }, { logger });
  await delivery.start();
  while (delivery.status().broker !== 'connected') await new Promise((r) => setTimeout(r, 50));
  for (const f of frames) delivery.submit(f);
  const deadline = Date.now() + 60_000;
  while (delivery.status().acked < frames.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const status = delivery.status();
  await delivery.stop();
  assert.equal(status.acked, frames.length, `acked ${status.acked}; dropped ${JSON.stringify(status.dropped)}; last error ${status.lastError}`);
  assert.equal(Object.values(status.dropped).reduce((a, b) => a + b, 0), 0);

  const records = await broker.readRecords(topics.frames, { count: frames.length });
  const seqs = records.map(({ message }) => {
    const f = decodeFrame({ ...message, value: message.value }, { maxBytes: 1 << 24 });
    assert.ok(f.jpeg.equals(images[f.seq % 4]!));
    return f.seq;
  });
  assert.deepEqual(seqs, frames.map((f) => f.seq));
});
