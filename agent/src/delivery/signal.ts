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
