// A Pi whose clock is off must not have every frame skipped as "too old".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';
import { sharedBroker, solidJpeg } from '@frameline/shared/testing';
import { createCameraClocks } from '../src/ingest/clock.js';
import { reportableAge } from '../src/scheduler/scheduler.js';
import { FAST_TEST_MODEL, testCloudConfig } from './support.js';
import { createCloudService, type InferenceRecord } from '../src/service.js';

const logger = createLogger({ level: 'error', scope: 'test' });

test('clock offsets: network delay is left alone, a clock off by seconds is estimated from fresh records only', () => {
  const clocks = createCameraClocks(logger);
  const t = 1_764_000_000_000;
  for (let i = 0; i < 20; i++) clocks.observe({ camera: 'CAMERA-1', run: 'r', seq: i, ingestedAt: t + i * 100, capturedAt: t + i * 100 - 80 - (i % 3) * 40, fresh: true });
  assert.equal(clocks.correction('CAMERA-1'), 0, '80-160 ms of network delay is not a clock problem');
  for (let i = 0; i < 20; i++) clocks.observe({ camera: 'CAMERA-2', run: 'r', seq: i, ingestedAt: t + i * 100, capturedAt: t + i * 100 - 12_000 - (i % 4) * 50, fresh: true });
  assert.equal(clocks.correction('CAMERA-2'), 12_000, 'behind by 12 s: the smallest fresh delta');
  for (let i = 0; i < 20; i++) clocks.observe({ camera: 'CAMERA-3', run: 'r', seq: i, ingestedAt: t + i * 100, capturedAt: t + i * 100 + 7_000, fresh: true });
  assert.equal(clocks.correction('CAMERA-3'), -7_000, 'ahead by 7 s');
  for (let i = 0; i < 20; i++) clocks.observe({ camera: 'CAMERA-4', run: 'r', seq: i, ingestedAt: t, capturedAt: t - 60_000, fresh: false });
  assert.equal(clocks.correction('CAMERA-4'), 0, 'a backlog read long after production says nothing about the clock');
});

test('a camera clock stepped back: the offset moves by the step at once, resends and new runs are no step, ages are never reported negative', () => {
  const clocks = createCameraClocks(logger);
  const t = 1_764_000_000_000;
  const frame = (seq: number, offsetMs: number, run = 'r1', fresh = true) =>
    clocks.observe({ camera: 'CAMERA-1', run, seq, ingestedAt: t + seq * 100 + 50, capturedAt: t + seq * 100 + offsetMs, fresh });
  // 30 s ahead: estimated from fresh records as before.
  for (let seq = 0; seq < 20; seq++) frame(seq, 30_000);
  assert.equal(clocks.correction('CAMERA-1'), -29_950, 'ahead by 30 s, less 50 ms of transit');
  // NTP steps it back to the right time between seq 19 and 20.
  frame(20, 0);
  assert.equal(clocks.steps().get('CAMERA-1'), 1, 'the step is counted');
  assert.equal(clocks.correction('CAMERA-1'), 0, 'moved by the whole 29.9 s step: within the threshold, so no correction');
  for (let seq = 21; seq < 30; seq++) frame(seq, 0);
  assert.equal(clocks.correction('CAMERA-1'), 0, 'later fresh frames agree: no stale sample of the old offset is left');
  // A resend of an earlier frame, a backlog frame and another run are no step.
  frame(5, 30_000);
  frame(30, 0, 'r1', false);
  frame(0, -5_000, 'r2');
  assert.equal(clocks.steps().get('CAMERA-1'), 1, 'resends, backlog frames and a new run are not steps');
  // Another camera, right until its clock steps back 20 s: corrected by the step at once.
  for (let seq = 0; seq < 10; seq++) clocks.observe({ camera: 'CAMERA-2', run: 'r', seq, ingestedAt: t + seq * 100 + 50, capturedAt: t + seq * 100, fresh: true });
  assert.equal(clocks.correction('CAMERA-2'), 0);
  clocks.observe({ camera: 'CAMERA-2', run: 'r', seq: 10, ingestedAt: t + 1050, capturedAt: t + 1000 - 20_000, fresh: true });
  assert.equal(clocks.steps().get('CAMERA-2'), 1);
  assert.ok(Math.abs(clocks.correction('CAMERA-2') - 20_000) <= 150, `corrected by about the step: ${clocks.correction('CAMERA-2')} ms`);
  for (const age of [-5, -499, 0, 1200]) assert.ok(reportableAge(age)! >= 0, `${age} ms reads as an age of ${reportableAge(age)}`);
  assert.equal(reportableAge(-30_000), undefined, 'a capture time 30 s in our future has no age');
});

test('frames of a camera whose clock is 15 s behind are inferred, not all skipped as too old', async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('clock');
  const service = createCloudService(testCloudConfig(broker, topics, { scheduler: { workers: 1, maxLagMs: '1s' } }), { logger, model: FAST_TEST_MODEL });
  const results: InferenceRecord[] = [];
  service.onResult((r) => void results.push(r));
  await service.start();
  t.after(() => service.stop());

  const producer = createKafka(broker.connection('agent', 'external'), logger).producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  const jpeg = await solidJpeg(64, 48, '#884422');
  const run = randomUUID();
  for (let seq = 0; seq < 50; seq++) {
    const frame = { camera: 'CAMERA-1', run, seq, capturedAt: Date.now() - 15_000, width: 64, height: 48, jpeg };
    await producer.send({ topic: topics.frames, messages: [{ ...encodeFrame(frame), partition: partitionFor('CAMERA-1', 3, 'camera-index') }] });
    await new Promise((r) => setTimeout(r, 100));
  }
  const deadline = Date.now() + 10_000;
  while (results.length < 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(results.length >= 20, `${results.length} of 50 frames inferred; without the correction all are too old`);
  const last = results.at(-1)!;
  assert.ok(last.timings.ageMs! < 1000, `corrected age ${last.timings.ageMs} ms`);
  const { port } = service.http.address()!;
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const offset = Number(/frameline_camera_clock_offset_seconds\{camera="CAMERA-1"\} ([\d.]+)/.exec(metrics)?.[1]);
  assert.ok(offset > 14.9 && offset < 16, `estimated offset ${offset} s`);
});
