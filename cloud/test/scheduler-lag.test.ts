// The bounded-lag scenario against the real broker: a model that
// needs 200 ms per frame, three cameras at 15 fps for two minutes. The age of
// every inferred frame must stay under maxLagMs while the skip counters grow
// and memory stays flat. FRAMELINE_LAG_TEST_SECONDS shortens it for local runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';
import { rawJpeg, sharedBroker } from '@frameline/shared/testing';
import { loadCloudConfig } from '../src/config.js';
import { createCloudService, type InferenceRecord } from '../src/service.js';
import { slowModel } from './slow-model.js';

const SECONDS = Number(process.env.FRAMELINE_LAG_TEST_SECONDS ?? 120);
const FPS = 15;
const CAMERAS = ['CAMERA-1', 'CAMERA-2', 'CAMERA-3'];
const MAX_LAG_MS = 1000;
const logger = createLogger({ level: 'error', scope: 'test' });

/** ~30 distinct real JPEGs (noise over a gradient, 320x240), made once and cycled. */
async function makeJpegs(n: number): Promise<Buffer[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => rawJpeg(320, 240, (b) => {
    const p = b - (b % 3); // the pixel's first byte
    return [((p / 3) % 320 + i * 8) & 255, ((p * 7919) >> 8) & 255, (i * 9) & 255][b % 3]!;
  }, { quality: 75 })));
}

const mib = (n: number) => Math.round(n / 1048576);

test(`a 200 ms/frame model fed ${CAMERAS.length} cameras at ${FPS} fps for ${SECONDS} s keeps inferred frames younger than maxLagMs, skips the rest, and memory flat`, { timeout: (SECONDS + 90) * 1000 }, async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('scheduler-lag');
  const p = broker.props;
  const config = loadCloudConfig({
    env: {},
    overrides: {
      kafka: { brokers: p['bootstrap.internal'], username: p['sasl.cloud.username'], passwordFile: p['sasl.cloud.password.file'], groupId: `frameline-test-${randomUUID().slice(0, 8)}`, sessionTimeout: '6s' },
      topics: { frames: topics.frames, backfill: topics.backfill, inferences: topics.inferences, dlq: topics.dlq },
      http: { listen: '127.0.0.1:0' },
      scheduler: { workers: 1, maxBatch: 3, maxLagMs: MAX_LAG_MS },
      log: { level: 'error' },
    },
  });
  const jpegs = await makeJpegs(30);
  const producer = createKafka(broker.connection('agent', 'external'), logger).producer();
  await producer.connect();
  const service = createCloudService(config, { logger, model: slowModel({ msPerFrame: 200 }) });
  const results: InferenceRecord[] = [];
  let maxAge = 0;
  let maxEndToEnd = 0;
  service.onResult((r) => {
    maxAge = Math.max(maxAge, r.timings.ageMs ?? Infinity);
    maxEndToEnd = Math.max(maxEndToEnd, r.inferredAt - r.capturedAt);
    if (results.length < 50_000) results.push(r);
  });
  await service.start();

  const runs = Object.fromEntries(CAMERAS.map((c) => [c, randomUUID()]));
  const started = Date.now();
  let sent = 0;
  let warm: { rss: number; heap: number; skipped: number } | undefined;
  try {
    for (let tick = 0; Date.now() - started < SECONDS * 1000; tick++) {
      const due = started + (tick * 1000) / FPS;
      await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
      const capturedAt = Date.now();
      await producer.send({
        topic: topics.frames,
        acks: 1,
        messages: CAMERAS.map((camera) => ({
          ...encodeFrame({ camera, run: runs[camera]!, seq: tick, capturedAt, width: 320, height: 240, jpeg: jpegs[tick % jpegs.length]! }),
          partition: partitionFor(camera, 3, 'key'),
        })),
      });
      sent += CAMERAS.length;
      if (!warm && Date.now() - started > Math.min(30_000, SECONDS * 250)) {
        const c = service.counts();
        warm = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed, skipped: c.skipped.superseded + c.skipped['too-old'] };
      }
    }
    await new Promise((r) => setTimeout(r, 1500));
    const c = service.counts();
    const end = { rss: process.memoryUsage().rss, heap: process.memoryUsage().heapUsed };
    const skipped = c.skipped.superseded + c.skipped['too-old'];
    const perCamera = CAMERAS.map((cam) => results.filter((r) => r.camera === cam).length);
    t.diagnostic(`sent=${sent} consumed=${c.consumed} inferred=${c.inferred} skipped=${JSON.stringify(c.skipped)} perCamera=${perCamera.join('/')}`);
    t.diagnostic(`maxAgeAtInferenceStart=${Math.round(maxAge)}ms maxCaptureToInferred=${Math.round(maxEndToEnd)}ms maxLagMs=${MAX_LAG_MS}`);
    t.diagnostic(`rss warm=${mib(warm!.rss)}MiB end=${mib(end.rss)}MiB heap warm=${mib(warm!.heap)}MiB end=${mib(end.heap)}MiB`);
    const health = await service.health();
    assert.ok(health.ok, JSON.stringify(health));

    assert.ok(c.inferred > 0 && maxAge < MAX_LAG_MS, `oldest inferred frame was ${maxAge} ms old`);
    assert.equal(c.skipped['inference-error'], 0);
    assert.ok(skipped > warm!.skipped && skipped > sent / 2, `skips grow: ${warm!.skipped} after warm-up, ${skipped} at the end of ${sent}`);
    assert.ok(c.consumed >= sent - CAMERAS.length * FPS, `consumption kept up: ${c.consumed} of ${sent}`);
    const unaccounted = c.consumed - c.inferred - skipped;
    assert.ok(unaccounted >= 0 && unaccounted <= 2 * CAMERAS.length, `every consumed frame is inferred or skipped, but for at most one waiting and one in flight per camera (${unaccounted})`);
    for (const n of perCamera) assert.ok(n > c.inferred / (CAMERAS.length * 2), `fair share per camera: ${perCamera.join('/')}`);
    // Results keep coming at the model's pace: 1 worker x 3-frame batches of 200 ms each.
    assert.ok(c.inferred > SECONDS * 2, `inferred ${c.inferred} in ${SECONDS} s`);
    assert.ok(end.rss < warm!.rss * 1.5 + 64 * 1048576, `RSS grew from ${mib(warm!.rss)} to ${mib(end.rss)} MiB`);
    assert.ok(end.heap < warm!.heap * 2 + 32 * 1048576, `heap grew from ${mib(warm!.heap)} to ${mib(end.heap)} MiB`);
  } finally {
    await service.stop();
    await producer.disconnect();
  }
});
