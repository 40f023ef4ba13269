// Frame pacing for replayed and generated sources: one slot every 1/fps on a
// fixed grid, so timer jitter does not drift the rate. A consumer that falls
// behind by more than a slot re-anchors the grid instead of bursting to catch up.
import { setTimeout as sleep } from 'node:timers/promises';

export interface Pacer {
  /** Resolves at the next slot; rejects with AbortError when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void>;
}

export function createPacer(fps: number, now: () => number = () => performance.now()): Pacer {
  if (!(fps > 0 && fps <= 1000)) throw new RangeError(`fps must be in (0, 1000], got ${fps}`);
  const interval = 1000 / fps;
  let due: number | undefined;
  return {
    async wait(signal) {
      const t = now();
      if (due === undefined || t - due > interval) due = t;
      const ms = due - t;
      due += interval;
      if (ms > 0) await sleep(ms, undefined, { signal });
      else signal?.throwIfAborted();
    },
  };
}

/** Sleeps `ms`; resolves false instead of throwing when `signal` aborts first. */
export async function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch (err) {
    if (signal.aborted) return false;
    throw err;
  }
}
