// The one backoff rule: capped exponential delays with optional jitter, and
// the typed error whose `retriable` flag says whether waiting and trying
// again can help (kafkajs's convention).

/** An error that says whether the same operation may succeed if tried again. */
export interface RetriableError extends Error {
  readonly retriable: boolean;
}

export interface BackoffOptions {
  /** Delay (ms) after the first failure. */
  initialMs: number;
  /** Cap (ms) on the doubling delay. */
  maxMs: number;
  /** 0..1: share of the delay that is random (0.5: 50..100% of it; 0: none). Default 0.5. */
  jitter?: number;
  random?: () => number;
}

/** Delay (ms, unrounded) before retry `attempt` (0-based): min(maxMs, initialMs·2ⁿ), the `jitter` share of it random. */
export function backoffDelayMs(attempt: number, options: BackoffOptions): number {
  const jitter = Math.min(1, Math.max(0, options.jitter ?? 0.5));
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  return jitter === 0 ? ceiling : ceiling * (1 - jitter + jitter * (options.random ?? Math.random)());
}

export interface Backoff {
  /** Milliseconds (rounded) to wait before the next attempt; each call doubles the ceiling up to the cap. */
  next(): number;
  /** Failures since the last reset. */
  attempts(): number;
  /** A success: the next failure starts from initialMs again. */
  reset(): void;
}

export function createBackoff(options: BackoffOptions): Backoff {
  let attempt = 0;
  return {
    next: () => Math.round(backoffDelayMs(attempt++, options)),
    attempts: () => attempt,
    reset: () => {
      attempt = 0;
    },
  };
}
