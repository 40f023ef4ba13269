// Waiting with a deadline, in one place.
import { setTimeout as sleep } from 'node:timers/promises';

/** Waits for `promise` at most `ms`; undefined when the time ran out. The timer is cleared either way, so it never holds the process open. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}

export interface PacerOptions {
  /** Frames per second; absent or ≤ 0: no frame limit. */
  framesPerSec?: number;
  /** Bytes per second; absent or ≤ 0: no byte limit. */
  bytesPerSec?: number;
  /**
   * How late (ms) a caller may be and still keep its place on the schedule
   * (the next slots come sooner to make up for it). Later than that, the
   * schedule restarts from now instead of bursting to catch up. Default 0.
   */
  slackMs?: number;
}

/** Paces a stream to a rate: each batch reserves its share of time and starts when its slot begins. */
export interface Pacer {
  /** Largest batch worth sending at once: about one second of the rate. */
  batchLimit(maxFrames: number, maxBytes: number): { frames: number; bytes: number };
  /** Milliseconds (≥ 0) to wait before this batch of `frames` and `bytes`; books its time. */
  reserve(frames: number, bytes: number): number;
  /** Reserves one frame and sleeps until its slot; rejects with AbortError when `signal` aborts. */
  wait(signal?: AbortSignal): Promise<void>;
}

/** `now`: a monotonic-enough clock in ms (Date.now, performance.now). */
export function createPacer(options: PacerOptions, now: () => number = Date.now): Pacer {
  const fps = options.framesPerSec && options.framesPerSec > 0 ? options.framesPerSec : undefined;
  const bps = options.bytesPerSec && options.bytesPerSec > 0 ? options.bytesPerSec : undefined;
  const slackMs = options.slackMs ?? 0;
  let nextFree: number | undefined;
  const reserve = (frames: number, bytes: number): number => {
    const cost = Math.max(fps ? frames / fps : 0, bps ? bytes / bps : 0) * 1000;
    const t = now();
    const start = nextFree === undefined || t - nextFree > slackMs ? t : nextFree;
    nextFree = start + cost;
    return Math.max(0, start - t);
  };
  return {
    batchLimit: (maxFrames, maxBytes) => ({
      frames: fps ? Math.max(1, Math.min(maxFrames, Math.floor(fps))) : maxFrames,
      bytes: bps ? Math.max(1, Math.min(maxBytes, Math.floor(bps))) : maxBytes,
    }),
    reserve,
    async wait(signal) {
      const ms = reserve(1, 0);
      if (ms > 0) await sleep(ms, undefined, { signal });
      else signal?.throwIfAborted();
    },
  };
}
