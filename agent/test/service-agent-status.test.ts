// The status record taken from the stages' counters: broker and camera states
// in the fleet's words, and every record passes the shared contract's parser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAgentStatus, type AgentStatus, type PiHealth } from '@frameline/shared';
import { emptyCameraStats } from '../src/camera/source.js';
import type { DeliveryStatus } from '../src/delivery/index.js';
import type { PipelineStats } from '../src/pipeline/index.js';
import { brokerStateOf, cameraStateOf, createStatusTaker, type CameraStatsWithHealth } from '../src/service/agent-status.js';

function delivery(over: Partial<DeliveryStatus> = {}): DeliveryStatus {
  return {
    mode: 'reliable', backfill: 'inline', broker: 'connected', policy: 'direct', sent: 0, acked: 0,
    dropped: { queueFull: 0, sendFailed: 0, tooLarge: 0, rejected: 0, unroutable: 0, spoolFull: 0, stopped: 0 },
    queued: { frames: 0, bytes: 0 }, spooled: { frames: 0, bytes: 0, segments: 0, oldestAt: null },
    evicted: 0, spoolDiskFull: false, tornRecordsSkipped: 0, backfillSent: 0, lastError: null, ...over,
  };
}

const pipeline: PipelineStats = { captured: 0, passed: 0, droppedByFps: 3, droppedByGate: 0, droppedBehind: 0, failed: 0, droppedTooManyPixels: 0, resized: 0, keepAlive: 0, lastMotion: null };

test('broker state: connecting before the first connection, then spooling / dropping / catching-up / connected', () => {
  const down = delivery({ broker: 'down', policy: 'spooling' });
  assert.equal(brokerStateOf(down, false), 'connecting');
  assert.equal(brokerStateOf(down, true), 'spooling');
  assert.equal(brokerStateOf(delivery({ mode: 'live', broker: 'down', policy: 'dropping' }), true), 'dropping');
  assert.equal(brokerStateOf(delivery({ spooled: { frames: 12, bytes: 9000, segments: 1, oldestAt: 1 } }), true), 'catching-up');
  assert.equal(brokerStateOf(delivery({ policy: 'spooling' }), true), 'catching-up');
  assert.equal(brokerStateOf(delivery(), true), 'connected');
});

test('camera state: running, stalled, restarting, missing, broken', () => {
  const cam = (over: Partial<CameraStatsWithHealth>): CameraStatsWithHealth => ({ ...emptyCameraStats(), ...over });
  assert.equal(cameraStateOf(cam({ lastFrameAt: 1 }), 0), 'running');
  assert.equal(cameraStateOf(cam({ lastFrameAt: 1, stalled: true, stalls: 1 }), 0), 'stalled');
  assert.equal(cameraStateOf(cam({ lastFrameAt: 1, restarts: 2 }), 1), 'restarting');
  assert.equal(cameraStateOf(cam({ lastFrameAt: 1, restarts: 2 }), 2), 'running', 'a frame came after the restart');
  assert.equal(cameraStateOf(cam({ lastFrameAt: null, stalled: true }), 0), 'missing');
  assert.equal(cameraStateOf(cam({ lastFrameAt: null, restarts: 1 }), 0), 'missing');
  assert.equal(cameraStateOf(cam({ lastFrameAt: 1, broken: true }), 0), 'broken');
});

test('a taken status passes the shared contract: spool age from the oldest frame, zero drops left out, Pi health only where present', () => {
  let d = delivery({ broker: 'down', policy: 'spooling', lastError: 'broker unreachable: connection refused', spooled: { frames: 40, bytes: 80_000, segments: 1, oldestAt: 1_000_000 } });
  let pi: PiHealth = {};
  const taker = createStatusTaker(
    { camera: 'CAMERA-7', version: '0.1.0', run: '0b7d3c1e-5a7e-4f0e-9d55-0c8f7f2d9a10', startedAt: 990_000 },
    { camera: () => ({ ...emptyCameraStats(), lastFrameAt: 999_000, frames: 100 }), pipeline: () => pipeline, delivery: () => d, captureFps: () => 9.876, pi: () => pi },
  );
  const s = taker.take(1_004_000);
  const parsed = parseAgentStatus(Buffer.from(JSON.stringify(s)));
  assert.equal(typeof parsed, 'object', String(parsed));
  const p = parsed as AgentStatus;
  assert.equal(p.broker, 'connecting', 'never connected yet');
  assert.equal(p.cameraState, 'running');
  assert.deepEqual(p.spool, { frames: 40, bytes: 80_000, oldestAgeMs: 4000 });
  assert.deepEqual(p.dropped, { fpsCap: 3 });
  assert.equal(p.uptimeSeconds, 14);
  assert.equal(p.captureFps, 9.88);
  assert.equal(p.lastError, 'broker unreachable: connection refused');
  assert.equal('pi' in p, false);

  const keyDown = taker.stateKey();
  d = delivery({ acked: 5 });
  pi = { socTempC: 70.5 };
  assert.notEqual(taker.stateKey(), keyDown, 'reconnecting is a state change');
  const up = taker.take(1_005_000);
  assert.equal(up.broker, 'connected');
  assert.equal(up.lastError, null);
  assert.equal(up.spool.oldestAgeMs, null);
  assert.deepEqual(up.pi, { socTempC: 70.5 });
  d = delivery({ acked: 5, broker: 'down', policy: 'spooling' });
  assert.equal(taker.take().broker, 'spooling', 'after the first connection an outage is spooling, not connecting');
});
