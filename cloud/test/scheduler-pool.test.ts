// The inference worker pool never wedges silently: a batch that hangs gets
// its worker terminated and replaced, and the pool serves again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '@frameline/shared';
import { createWorkerPool } from '../src/inference/pool/pool.js';
import { slowModel } from './slow-model.js';
import { solidJpeg } from '@frameline/shared/testing';

const logger = createLogger({ level: 'error', scope: 'test' });

test('a batch past batchTimeoutMs terminates its worker; the replacement serves the next batch', { timeout: 60_000 }, async (t) => {
  const pool = createWorkerPool({ size: 1, model: slowModel({ msPerFrame: 20_000, batchable: false }), logLevel: 'error', logger, batchTimeoutMs: 1500 });
  t.after(() => pool.close());
  await pool.start();
  const jpeg = await solidJpeg(32, 24, '#123456');

  const started = Date.now();
  await assert.rejects(pool.run([jpeg]), /exited .* during a batch/);
  const failedAfter = Date.now() - started;
  assert.ok(failedAfter < 15_000, `the hung batch failed after ${failedAfter} ms, not after the model's 20 s`);
  assert.equal(pool.health().busy, 0);

  // The replacement comes up with backoff (1 s); then it works, on a model that is fast enough.
  const deadline = Date.now() + 20_000;
  while (pool.idleCount() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(pool.idleCount(), 1, 'a new worker is ready');
  assert.equal(pool.health().ready, 1);
});
