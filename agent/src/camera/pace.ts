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

/**
 * The start-once, stop-once life of a replayed or generated source. stop()
 * aborts `signal`, waits for the play loop handed to `playing()`, then closes
 * the queue; a second stop() does nothing.
 */
export function createPlayback(queue: { close(): void }) {
  const abort = new AbortController();
  let state: 'new' | 'running' | 'stopped' = 'new';
  let loop: Promise<void> | undefined;
  return {
    signal: abort.signal,
    stopped: () => state === 'stopped',
    /** Throws unless this is the first start. */
    claim() {
      if (state !== 'new') throw new Error('a camera source can be started once; create a new one');
    },
    running() {
      state = 'running';
    },
    playing(p: Promise<void>) {
      loop = p;
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      abort.abort();
      await loop;
      queue.close();
    },
  };
}
