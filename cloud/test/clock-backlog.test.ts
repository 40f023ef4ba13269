// A restart after downtime must not raise a false clock warning: the backlog
// at the partition's end was produced before the service started, so its
// age says nothing about the cameras' clocks. Real broker, real service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';
import { sharedBroker, solidJpeg } from '@frameline/shared/testing';
import { FAST_TEST_MODEL, testCloudConfig } from './support.js';
import { createCloudService, type InferenceRecord } from '../src/service.js';

const CAMERAS = ['CAMERA-1', 'CAMERA-2', 'CAMERA-3'];
const DOWNTIME_MS = 5000;

test('restart after downtime: a backlog produced 5 s earlier raises no clock warning and no correction; fresh frames still agree', async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('clock-backlog');
  const quiet = createLogger({ level: 'error', scope: 'test' });
  const producer = createKafka(broker.connection('agent', 'external'), quiet).producer();
  await producer.connect();
  t.after(() => producer.disconnect());
  const jpeg = await solidJpeg(64, 48, '#336699');
  const runs = new Map(CAMERAS.map((c) => [c, randomUUID()]));
  let seq = 0;
  const send = (n: number) => producer.send({
    topic: topics.frames,
    messages: CAMERAS.flatMap((camera) => Array.from({ length: n }, () => ({
      ...encodeFrame({ camera, run: runs.get(camera)!, seq: seq++, capturedAt: Date.now(), width: 64, height: 48, jpeg }),
      partition: partitionFor(camera, 3, 'camera-index'),
    }))),
  });

  // The cameras' clocks agree with ours; the service is down while they produce.
  await send(20);
  await new Promise((r) => setTimeout(r, DOWNTIME_MS));

  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  const logger = createLogger({ level: 'info', scope: 'cloud', stream, journald: false });
  const service = createCloudService(testCloudConfig(broker, topics, { scheduler: { workers: 1, maxLagMs: '1m' } }), { logger, model: FAST_TEST_MODEL });
  const results: InferenceRecord[] = [];
  service.onResult((r) => void results.push(r));
  await service.start();
  t.after(() => service.stop());
  const wait = async (n: number) => {
    const deadline = Date.now() + 30_000;
    while (results.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  };
  await wait(3);
  // Then live again: frames produced now, one batch at a time.
  for (let i = 0; i < 15; i++) {
    await send(1);
    await new Promise((r) => setTimeout(r, 100));
  }
  await wait(3 + 3 * 10);

  const { port } = service.http.address()!;
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const offsets = [...metrics.matchAll(/frameline_camera_clock_offset_seconds\{camera="([^"]+)"\} (\S+)/g)].map((m) => `${m[1]}=${m[2]}`);
  const warnings = lines.filter((l) => /camera clock/.test(l));
  console.log(`results ${results.length}; clock offsets ${offsets.join(' ') || '(none estimated)'}; warnings ${warnings.length}`);
  assert.ok(results.length >= 3 + 3 * 10, `${results.length} results`);
  assert.deepEqual(warnings, [], 'no clock warning for a backlog');
  for (const camera of CAMERAS) assert.ok(!metrics.includes(`camera="${camera}"} `) || metrics.includes(`frameline_camera_clock_offset_seconds{camera="${camera}"} 0\n`), `${camera}: ${offsets.join(' ')}`);
  assert.ok(offsets.length >= 1, 'fresh frames after the backlog were used for estimates');
});
