// Delivery's decisions as pure functions, without a broker or a disk:
// what happens to a new frame, when memory spills, what a failed send
// leads to, which segments the spool evicts, how long to back off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH_OVERHEAD, backoffDelayMs } from '@frameline/shared';
import { decideFailure, decideFrame, deliveryPolicy, shouldSpill, type FlowState, type Wiring } from '../src/delivery/policy.js';
import { SendError } from '../src/delivery/retry.js';
import { planEviction } from '../src/delivery/spool/limits.js';

const nextBackoffMs = (attempt: number, initialMs: number, maxMs: number, random: () => number) => Math.round(backoffDelayMs(attempt, { initialMs, maxMs, random }));

const LIVE: Wiring = { overflow: 'drop-oldest', spoolAhead: false };
const INLINE: Wiring = { overflow: 'spool', spoolAhead: true };
const SEPARATE: Wiring = { overflow: 'spool', spoolAhead: false };
const MAX_BATCH = 1 << 20;

function state(over: Partial<FlowState> = {}): FlowState {
  return {
    outage: false,
    stopping: false,
    closing: false,
    queued: { frames: 0, bytes: 0 },
    queueBound: { maxFrames: 4, maxBytes: 1 << 20 },
    spooled: 0,
    memoryInFlight: false,
    ...over,
  };
}

test('a frame is dropped after stop() and when it can never fit a request, in every wiring', () => {
  for (const w of [LIVE, INLINE, SEPARATE]) {
    assert.deepEqual(decideFrame(1000, MAX_BATCH, state({ stopping: true }), w), { kind: 'drop', reason: 'stopped' });
    assert.deepEqual(decideFrame(MAX_BATCH - BATCH_OVERHEAD + 1, MAX_BATCH, state(), w), { kind: 'drop', reason: 'tooLarge' });
    assert.deepEqual(decideFrame(MAX_BATCH - BATCH_OVERHEAD, MAX_BATCH, state(), w), { kind: 'queue' });
  }
});

test('live: frames queue up to the bound, then the oldest are dropped; an outage changes nothing but the reported policy', () => {
  assert.deepEqual(decideFrame(1000, MAX_BATCH, state({ queued: { frames: 3, bytes: 3000 } }), LIVE), { kind: 'queue' });
  assert.deepEqual(decideFrame(1000, MAX_BATCH, state({ queued: { frames: 4, bytes: 4000 } }), LIVE), { kind: 'queue-drop-oldest' });
  assert.deepEqual(decideFrame(1000, MAX_BATCH, state({ queueBound: { maxFrames: 100, maxBytes: 2500 }, queued: { frames: 2, bytes: 2000 } }), LIVE), { kind: 'queue-drop-oldest' });
  // A single frame over the byte bound is still kept: dropping it would leave nothing to send.
  assert.deepEqual(decideFrame(5000, MAX_BATCH, state({ queueBound: { maxFrames: 4, maxBytes: 1000 } }), LIVE), { kind: 'queue' });
  assert.deepEqual(decideFrame(1000, MAX_BATCH, state({ outage: true }), LIVE), { kind: 'queue' });
  assert.equal(shouldSpill(state({ outage: true, queued: { frames: 9, bytes: 9000 } }), LIVE), false, 'live has no spool to spill into');
  assert.equal(deliveryPolicy(state(), LIVE), 'direct');
  assert.equal(deliveryPolicy(state({ outage: true }), LIVE), 'dropping');
});

test('reliable: memory spills into the spool during an outage, over the bound, and at close, never past a batch in flight', () => {
  for (const w of [INLINE, SEPARATE]) {
    assert.deepEqual(decideFrame(1000, MAX_BATCH, state(), w), { kind: 'queue' });
    assert.deepEqual(decideFrame(1000, MAX_BATCH, state({ outage: true }), w), { kind: 'spool' });
    assert.deepEqual(decideFrame(1000, MAX_BATCH, state({ queued: { frames: 4, bytes: 4000 } }), w), { kind: 'spool' });
    // The batch in flight may still fail and go to the spool first; frames behind it wait.
    assert.deepEqual(decideFrame(1000, MAX_BATCH, state({ outage: true, memoryInFlight: true }), w), { kind: 'queue' });
    assert.equal(shouldSpill(state({ closing: true, queued: { frames: 1, bytes: 10 } }), w), true);
    assert.equal(shouldSpill(state({ closing: true }), w), false, 'nothing queued, nothing to spill');
    assert.equal(deliveryPolicy(state({ outage: true }), w), 'spooling');
  }
});

test('inline: while the spool holds frames new ones queue behind it (spooled); separate: they go straight to the frames topic', () => {
  const backlog = state({ spooled: 50 });
  assert.deepEqual(decideFrame(1000, MAX_BATCH, backlog, INLINE), { kind: 'spool' });
  assert.equal(deliveryPolicy(backlog, INLINE), 'spooling');
  assert.deepEqual(decideFrame(1000, MAX_BATCH, backlog, SEPARATE), { kind: 'queue' });
  assert.equal(deliveryPolicy(backlog, SEPARATE), 'direct');
  assert.equal(deliveryPolicy(state(), INLINE), 'direct');
});

test('a failed send: refused records are split, then dropped one by one; a broker error reconnects (with a new producer id when fenced)', () => {
  const refused = new SendError('too large', 'split', 'MESSAGE_TOO_LARGE');
  assert.equal(refused.retriable, false);
  assert.deepEqual(decideFailure(refused, 7, 9), { kind: 'split', cap: 5 });
  assert.deepEqual(decideFailure(refused, 2, 2), { kind: 'split', cap: 1 });
  assert.deepEqual(decideFailure(refused, 1, 3), { kind: 'drop-record' });
  const down = new SendError('connection refused', 'reconnect', undefined);
  assert.equal(down.retriable, true);
  assert.deepEqual(decideFailure(down, 5, 5), { kind: 'reconnect', renewProducer: false });
  assert.deepEqual(decideFailure(new SendError('fenced', 'renew-producer', 'UNKNOWN_PRODUCER_ID'), 1, 1), { kind: 'reconnect', renewProducer: true });
});

test('spool limits: the oldest whole segments go for age, then for bytes; the one being written only when it alone is over', () => {
  const limits = { maxBytes: 300, maxAgeMs: 1000 };
  const seg = (size: number, lastAppendAt: number, active = false) => ({ size, lastAppendAt, active });
  const now = 10_000;
  assert.deepEqual(planEviction([seg(100, 9000), seg(100, 9500), seg(50, 9900, true)], 0, 0, limits, now), []);
  assert.deepEqual(planEviction([seg(100, 8000), seg(100, 8500), seg(50, 9900, true)], 0, 0, limits, now), ['age', 'age']);
  assert.deepEqual(planEviction([seg(200, 9000), seg(200, 9500), seg(50, 9900, true)], 0, 0, limits, now), ['bytes']);
  // The acknowledged head of the first segment and the unwritten backlog count as well.
  assert.deepEqual(planEviction([seg(200, 9000), seg(100, 9500, true)], 150, 0, limits, now), []);
  assert.deepEqual(planEviction([seg(200, 9000), seg(100, 9500, true)], 150, 200, limits, now), ['bytes']);
  assert.deepEqual(planEviction([seg(400, 9900, true)], 0, 0, limits, now), ['bytes']);
  assert.deepEqual(planEviction([seg(100, 0, true)], 0, 0, { maxBytes: 300, maxAgeMs: 0 }, now), [], 'maxAgeMs 0: no age limit');
});

test('reconnect backoff doubles from initialMs, is jittered between half and all of its ceiling, and stops at maxMs', () => {
  assert.equal(nextBackoffMs(0, 250, 5000, () => 0), 125);
  assert.equal(nextBackoffMs(0, 250, 5000, () => 1), 250);
  assert.equal(nextBackoffMs(3, 250, 5000, () => 1), 2000);
  assert.equal(nextBackoffMs(10, 250, 5000, () => 1), 5000);
  assert.equal(nextBackoffMs(1000, 250, 5000, () => 0), 2500);
});
