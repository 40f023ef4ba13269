// A real PoseModel adapter that is slow on purpose: it decodes like any other
// and then busy-computes for a fixed time per frame, finding nobody. The
// bounded-lag tests use it to play a model slower than the cameras.
import type { DecodedImage, PoseModel, PoseResult } from './model.js';

export interface SlowModelOptions {
  msPerFrame: number;
  batchable: boolean;
}

export function createSlowModel(options: SlowModelOptions): PoseModel {
  return {
    name: `slow-test-${options.msPerFrame}ms`,
    batchable: options.batchable,
    async infer(images: DecodedImage[]): Promise<PoseResult[]> {
      const started = performance.now();
      // Burn CPU like a model would (a sleep would leave the core free and flatter the pool).
      const until = started + options.msPerFrame * images.length;
      while (performance.now() < until) for (let i = 0; i < 10_000; i++) Math.sqrt(i);
      const totalMs = performance.now() - started;
      return images.map(() => ({ persons: [], timings: { detectMs: 0, landmarksMs: totalMs, totalMs } }));
    },
    async close() {},
  };
}
