// /healthz reflects real liveness and /metrics carries what an operator
// graphs: against the real broker, with a model that wedges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';
import { sharedBroker, solidJpeg, waitForValue } from '@frameline/shared/testing';
import { testCloudConfig } from './support.js';
import { slowModel } from './slow-model.js';
import { createCloudService } from '../src/service.js';

const logger = createLogger({ level: 'error', scope: 'test' });

const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000) => waitForValue(what, probe, timeoutMs, 250);

test('a wedged model turns /healthz to 503 with the reason, and /metrics shows lag per partition and busy workers', async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('health');
  const config = testCloudConfig(broker, topics, {
    scheduler: { workers: 1, maxLagMs: '2m' },
    health: { stallAfter: '2s' },
  });
  // A model that takes a minute per frame: the worker is stuck for the whole test.
  const service = createCloudService(config, { logger, model: slowModel({ msPerFrame: 60_000 }) });
  await service.start();
  t.after(() => service.stop());
  const { port } = service.http.address()!;
  const base = `http://127.0.0.1:${port}`;
  assert.equal((await fetch(`${base}/healthz`)).status, 200, 'healthy before any frame');

  const producer = createKafka(broker.connection('agent', 'external'), logger).producer();
  await producer.connect();
  const jpeg = await solidJpeg(64, 48, '#446688');
  const run = randomUUID();
  await producer.send({
    topic: topics.frames,
    messages: [0, 1, 2].map((seq) => ({ ...encodeFrame({ camera: 'CAMERA-1', run, seq, capturedAt: Date.now(), width: 64, height: 48, jpeg }), partition: partitionFor('CAMERA-1', 3, 'camera-index') })),
  });
  await producer.disconnect();

  // A loaded machine may first turn it 503 for a slow consumer; wait for the inference stall itself.
  const report = await waitFor('/healthz to report the stall', async () => {
    const res = await fetch(`${base}/healthz`);
    const body = res.status === 503 ? ((await res.json()) as { inference: { ok: boolean; reason?: string; busy: number } }) : undefined;
    return body && !body.inference.ok ? body : undefined;
  });
  assert.equal(report.inference.ok, false);
  assert.match(report.inference.reason ?? '', /a batch has been running for \d+ ms/);
  assert.equal(report.inference.busy, 1);

  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /frameline_inference_workers_busy 1/);
  assert.match(metrics, /frameline_frames_consumed_total\{source="live"\} 3/);
  // nothing is published, so nothing is committed: all three records count as lag on their partition
  assert.match(metrics, new RegExp(`frameline_consumer_lag_records\\{topic="${topics.frames.replace(/\./g, '\\.')}",partition="0"\\} 3`));
  assert.match(metrics, /# TYPE frameline_inference_seconds histogram/);
  assert.match(metrics, /# TYPE frameline_frames_dlq_total counter/);
  // Default process metrics under their standard names, frameline's own under frameline_.
  assert.match(metrics, /^process_resident_memory_bytes \d+/m);
  assert.match(metrics, /^nodejs_eventloop_lag_seconds \S+/m);
});
