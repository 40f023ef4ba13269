// A real PoseModel adapter that is slow on purpose: it decodes like any other
// and then busy-computes for a fixed time per frame, finding nobody. The
// bounded-lag tests use it to play a model slower than the cameras. Workers
// load it through the pool's ModelSpec seam: slowModel({ msPerFrame: 200 }).
import { decodeJpeg, type DecodedImage, type PoseModel, type PoseResult } from '../src/inference/index.js';
import type { BuiltModel, ModelSpec } from '../src/inference/pool/protocol.js';

export interface SlowModelOptions {
  msPerFrame: number;
  /** Default true. */
  batchable?: boolean;
}

/** The spec that makes every inference worker build this model. */
export function slowModel(options: SlowModelOptions): ModelSpec {
  return { module: import.meta.url, options };
}

/** The ModelFactory entry point (called in the worker thread). */
export async function createModel(options: SlowModelOptions): Promise<BuiltModel> {
  return { model: createSlowModel({ msPerFrame: options.msPerFrame, batchable: options.batchable ?? true }), decode: decodeJpeg };
}

function createSlowModel(options: Required<SlowModelOptions>): PoseModel {
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
