// Drops frames above a maximum rate, judged by capture time (not arrival), so
// bursts from a pipe read do not fool it. Kept frames sit on a grid of 1/maxFps
// with 10% tolerance: a camera running exactly at the cap keeps every frame
// despite jitter, and a faster one averages to the cap. After a gap longer
// than one slot the grid restarts at the next frame instead of letting a burst through.

export interface FpsCap {
  /** True when a frame captured at `capturedAt` (ms) is within the rate. */
  admit(capturedAt: number): boolean;
}

const TOLERANCE = 0.1;

export function createFpsCap(maxFps: number): FpsCap {
  if (!(maxFps > 0)) throw new RangeError(`maxFps must be positive, got ${maxFps}`);
  const interval = 1000 / maxFps;
  let due = -Infinity;
  return {
    admit(capturedAt) {
      // Earlier than the last kept frame: the wall clock stepped back; start a new grid.
      if (capturedAt < due - 2 * interval) due = -Infinity;
      if (capturedAt < due - interval * TOLERANCE) return false;
      due = capturedAt - due < interval ? due + interval : capturedAt + interval;
      return true;
    },
  };
}
