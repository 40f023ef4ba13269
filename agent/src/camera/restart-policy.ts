// When to start a camera process again: exponential backoff with jitter and a
// cap, plus a rate limit over a sliding window so that a camera that dies
// right after each frame cannot spin (Frigate's watchdog rule). One place for
// the rule; sources only ask for the next delay. The backoff itself is shared's.
import { backoffDelayMs } from '@frameline/shared';

export interface RestartPolicyOptions {
  /** First delay after a failure. */
  initialMs: number;
  /** Cap on the exponential delay. */
  maxMs: number;
  /** At most this many restarts within `windowMs`; further ones wait for the window. */
  maxRestarts: number;
  windowMs: number;
  /** 0..1: share of the delay that is random (0.5 means 50..100% of it). */
  jitter?: number;
  random?: () => number;
}

export interface RestartDelay {
  delayMs: number;
  /** True when the rate limit, not the backoff, set the delay. */
  limited: boolean;
  /** Consecutive failures so far, including this one. */
  attempt: number;
}

export interface RestartPolicy {
  /** Records a restart at `now` (ms, monotonic) and says how long to wait before it. */
  next(now: number): RestartDelay;
  /** The process delivered frames again: the next failure starts from initialMs. */
  healthy(): void;
}

export const DEFAULT_RESTART_POLICY: RestartPolicyOptions = {
  initialMs: 1000,
  maxMs: 30_000,
  maxRestarts: 10,
  windowMs: 5 * 60_000,
  jitter: 0.5,
};

export function createRestartPolicy(options: RestartPolicyOptions): RestartPolicy {
  let attempt = 0;
  const recent: number[] = []; // start times of restarts inside the window, oldest first

  return {
    next(now) {
      attempt++;
      let delayMs = backoffDelayMs(attempt - 1, options);
      let limited = false;
      while (recent.length > 0 && recent[0]! <= now - options.windowMs) recent.shift();
      if (recent.length >= options.maxRestarts) {
        // The restart may only happen once the oldest one in the window has aged out.
        const windowFreeAt = recent[recent.length - options.maxRestarts]! + options.windowMs;
        if (windowFreeAt - now > delayMs) {
          delayMs = windowFreeAt - now;
          limited = true;
        }
      }
      recent.push(now + delayMs);
      return { delayMs: Math.round(delayMs), limited, attempt };
    },
    healthy() {
      attempt = 0;
    },
  };
}
