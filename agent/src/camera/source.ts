// The one interface every camera source implements. A source only yields
// frames; rate limiting, gating and the pipeline's counters live in
// agent/src/pipeline (the Telegraf split: inputs gather, the framework counts).
import type { JpegSplitterStats } from './jpeg-splitter.js';

/** One JPEG as it came off the camera. */
export interface CapturedFrame {
  jpeg: Buffer;
  /** Epoch ms from the wall clock when the frame was complete; strictly increasing per source. */
  capturedAt: number;
  width: number;
  height: number;
}

export interface CameraStats {
  /** Frames handed to the frame stream. */
  frames: number;
  /** JPEG bytes in those frames. */
  bytes: number;
  /** Times the camera process (or decoder) was started again after it ended or stalled. */
  restarts: number;
  /** Stalls detected: no frame for `stallSeconds`. */
  stalls: number;
  /** True from a detected stall until the next frame arrives. */
  stalled: boolean;
  /** Epoch ms of the last frame, null before the first. */
  lastFrameAt: number | null;
  /** Oldest frames overwritten because the consumer did not keep up. */
  droppedFrames: number;
  /** Bytes the JPEG parser threw away: garbage between frames, truncated or oversized frames. */
  discardedBytes: number;
  /** Frames cut off before their end marker (process died, stream corrupted). */
  truncatedFrames: number;
  /** Frames with no end marker within maxFrameBytes. */
  oversizedFrames: number;
  /** Complete frames without a frame header (SOFn): no decoder can use them, so they are not passed on. */
  undecodableFrames: number;
  /**
   * Nearly every recent frame was broken (cut off, corrupt, headerless, or
   * bytes that are no frame at all): raised once per episode (frame-health.ts).
   */
  broken: boolean;
  /** Broken share of the recent frames (0..1), the figure `broken` is judged on. */
  brokenShare: number;
  /** Broken frames since start (each 64 KiB of stray bytes counts as one). */
  brokenFrames: number;
}

export interface CameraSource {
  /** Starts producing; resolves once the camera process (or timer) is running. A source is single-use. */
  start(): Promise<void>;
  /** Stops producing and ends the frame stream after the few frames still queued. */
  stop(): Promise<void>;
  /** The frame stream. One consumer: each frame goes to whoever pulls it first. */
  frames(): AsyncIterable<CapturedFrame>;
  stats(): CameraStats;
}

/** A camera binary or input that cannot be used; the message says what to do. */
export class CameraUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CameraUnavailableError';
  }
}

export function emptyCameraStats(): CameraStats {
  return {
    frames: 0,
    bytes: 0,
    restarts: 0,
    stalls: 0,
    stalled: false,
    lastFrameAt: null,
    droppedFrames: 0,
    discardedBytes: 0,
    truncatedFrames: 0,
    oversizedFrames: 0,
    undecodableFrames: 0,
    broken: false,
    brokenShare: 0,
    brokenFrames: 0,
  };
}

/** A source's own counters plus those of its frame queue and JPEG parser. */
export function withQueueAndParser(stats: CameraStats, droppedFrames: number, parser: JpegSplitterStats): CameraStats {
  return {
    ...stats,
    droppedFrames,
    discardedBytes: parser.discardedBytes,
    truncatedFrames: parser.truncatedFrames,
    oversizedFrames: parser.oversizedFrames,
  };
}

/**
 * Capture timestamps: the wall clock (the record's CreateTime must be
 * comparable across hosts), nudged by a microsecond so that frames arriving
 * in one pipe read stay strictly ordered. A backward jump of more than a
 * second (NTP step) is taken as is rather than freezing the clock.
 */
export function createCaptureClock(now: () => number = Date.now): () => number {
  let last = -Infinity;
  return () => {
    const t = now();
    last = t > last || t < last - 1000 ? t : last + 0.001;
    return last;
  };
}
