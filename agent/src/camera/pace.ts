// Frame pacing for replayed and generated sources: one slot every 1/fps on a
// fixed grid, so timer jitter does not drift the rate. A consumer that falls
// behind by more than a slot re-anchors the grid instead of bursting to catch up.
import { setTimeout as sleep } from 'node:timers/promises';
import { createPacer, type Pacer } from '@frameline/shared';

/** One frame every 1/fps on a fixed grid (shared's createPacer, one slot of slack). */
export function createFramePacer(fps: number, now: () => number = () => performance.now()): Pacer {
  if (!(fps > 0 && fps <= 1000)) throw new RangeError(`fps must be in (0, 1000], got ${fps}`);
  return createPacer({ framesPerSec: fps, slackMs: 1000 / fps }, now);
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
