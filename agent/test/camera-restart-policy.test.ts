// The restart rule shared by the camera sources, on a fake clock.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createRestartPolicy } from '../src/camera/restart-policy.js';

describe('restart policy', () => {
  test('doubles the delay per consecutive failure up to the cap', () => {
    const policy = createRestartPolicy({ initialMs: 1000, maxMs: 30_000, maxRestarts: 100, windowMs: 60_000, jitter: 0 });
    const delays = Array.from({ length: 7 }, (_, i) => policy.next(i * 100_000).delayMs);
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  });

  test('jitter takes a random share of the delay, never more than the backoff', () => {
    const low = createRestartPolicy({ initialMs: 1000, maxMs: 30_000, maxRestarts: 100, windowMs: 1, jitter: 0.5, random: () => 0 });
    const high = createRestartPolicy({ initialMs: 1000, maxMs: 30_000, maxRestarts: 100, windowMs: 1, jitter: 0.5, random: () => 0.999 });
    assert.equal(low.next(0).delayMs, 500);
    assert.equal(high.next(0).delayMs, 1000);
  });

  test('starts from the initial delay again once the process was healthy', () => {
    const policy = createRestartPolicy({ initialMs: 1000, maxMs: 30_000, maxRestarts: 100, windowMs: 60_000, jitter: 0 });
    policy.next(0);
    policy.next(10_000);
    assert.equal(policy.next(20_000).delayMs, 4000);
    policy.healthy();
    assert.equal(policy.next(30_000).delayMs, 1000);
  });

  test('allows at most maxRestarts per window and says when it limited', () => {
    const policy = createRestartPolicy({ initialMs: 100, maxMs: 100, maxRestarts: 3, windowMs: 60_000, jitter: 0 });
    let now = 0;
    const limited: boolean[] = [];
    const restartAt: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = policy.next(now);
      limited.push(r.limited);
      restartAt.push(now + r.delayMs);
      now = now + r.delayMs + 50; // each process runs 50 ms and dies again
    }
    assert.deepEqual(limited, [false, false, false, true]);
    // The 4th restart waits until the first one has left the 60 s window.
    assert.equal(restartAt[3], restartAt[0]! + 60_000);
  });
});
