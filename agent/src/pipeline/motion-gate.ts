// Passes a frame only when it differs enough from the last frame passed:
// both are shrunk to a small gray thumbnail and compared by mean absolute
// difference (0 = identical, 1 = black vs white everywhere). Comparing with
// the last *passed* frame, not the previous one, lets slow changes add up.
// A keep-alive frame passes every `keepAliveSeconds` regardless, so a quiet
// camera is still visibly alive downstream.
import type { FrameCodec } from './codec.js';

export interface MotionGateOptions {
  /** Mean absolute difference (0..1) at or above which a frame passes. */
  threshold: number;
  /** Pass a frame at least this often, motion or not. */
  keepAliveSeconds: number;
  /** Thumbnail size for the comparison. Default 64x36. */
  thumbWidth?: number;
  thumbHeight?: number;
}

export interface MotionVerdict {
  pass: boolean;
  /** 0..1; 1 for the first frame, which has nothing to compare with. */
  score: number;
  /** Passed only because the keep-alive was due. */
  keepAlive: boolean;
}

export interface MotionGate {
  check(jpeg: Buffer, capturedAt: number): Promise<MotionVerdict>;
}

export function createMotionGate(options: MotionGateOptions, codec: FrameCodec): MotionGate {
  if (!(options.threshold >= 0 && options.threshold <= 1)) throw new RangeError(`motion threshold must be in 0..1, got ${options.threshold}`);
  const width = options.thumbWidth ?? 64;
  const height = options.thumbHeight ?? 36;
  const keepAliveMs = options.keepAliveSeconds * 1000;
  let reference: Buffer | undefined;
  let referenceAt = -Infinity;

  return {
    async check(jpeg, capturedAt) {
      const thumb = await codec.grayThumbnail(jpeg, width, height);
      const score = reference ? meanAbsDiff(thumb, reference) : 1;
      const moved = score >= options.threshold;
      // abs(): a wall clock stepped back must not postpone the keep-alive for that long.
      const keepAlive = !moved && Math.abs(capturedAt - referenceAt) >= keepAliveMs;
      const pass = moved || keepAlive;
      if (pass) {
        reference = thumb;
        referenceAt = capturedAt;
      }
      return { pass, score, keepAlive };
    },
  };
}

/** Mean absolute difference of two equal-length 8-bit images, scaled to 0..1. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`images differ in size: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / (a.length * 255);
}
