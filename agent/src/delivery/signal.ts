// Small waiting helpers for the delivery loops.

/** Wakes every waiter on notify(); a notify between check and wait is never lost. */
export interface Signal {
  /** Current generation; pass it to wait() to sleep until the next notify after it. */
  readonly generation: number;
  notify(): void;
  wait(since: number): Promise<void>;
}

export function createSignal(): Signal {
  let generation = 0;
  let waiters: Array<() => void> = [];
  return {
    get generation() {
      return generation;
    },
    notify() {
      generation++;
      const w = waiters;
      waiters = [];
      for (const resolve of w) resolve();
    },
    wait(since) {
      if (since !== generation) return Promise.resolve();
      return new Promise((resolve) => waiters.push(resolve));
    },
  };
}

/** Resolves after `ms`, or as soon as the signal fires when one is given. */
export function sleep(ms: number, wake?: Signal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    if (wake) {
      void wake.wait(wake.generation).then(() => {
        clearTimeout(timer);
        resolve();
      });
    }
  });
}

/**
 * Paces a stream to frames/s and bytes/s (either may be absent): each batch
 * reserves its share of time and waits until its slot begins.
 */
export type Pacer = ReturnType<typeof createPacer>;

export function createPacer(rate: { framesPerSec?: number; bytesPerSec?: number }, now: () => number = Date.now) {
  let nextFree = 0;
  const fps = rate.framesPerSec && rate.framesPerSec > 0 ? rate.framesPerSec : undefined;
  const bps = rate.bytesPerSec && rate.bytesPerSec > 0 ? rate.bytesPerSec : undefined;
  return {
    /** Largest batch worth sending at once: about one second of the rate. */
    batchLimit(maxFrames: number, maxBytes: number): { frames: number; bytes: number } {
      return {
        frames: fps ? Math.max(1, Math.min(maxFrames, Math.floor(fps))) : maxFrames,
        bytes: bps ? Math.max(1, Math.min(maxBytes, Math.floor(bps))) : maxBytes,
      };
    },
    /** Milliseconds to wait before sending this batch; books its time. */
    reserve(frames: number, bytes: number): number {
      const cost = Math.max(fps ? frames / fps : 0, bps ? bytes / bps : 0) * 1000;
      const t = now();
      const start = Math.max(t, nextFree);
      nextFree = start + cost;
      return start - t;
    },
  };
}
