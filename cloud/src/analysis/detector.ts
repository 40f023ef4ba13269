/**
 * The detector interface: every rule and the ONNX temporal model sit behind
 * it. A detector is handed the camera's live tracks after each inferred frame
 * and says what it sees in that frame; debounce.ts turns those per-frame
 * detections into events (one alert each).
 */
import type { Frame } from '@frameline/shared';
import type { Detection } from '../publish/alerts.js';
import type { Track } from './tracker.js';

/** The inferred frame the tracks were just updated with (capture time in epoch ms). */
export type FrameInfo = Pick<Frame, 'camera' | 'run' | 'seq' | 'capturedAt' | 'width' | 'height'>;

// The detection's shape is the alert record's opening (publish/alerts.ts), so the two cannot drift.
export type { Detection } from '../publish/alerts.js';

export interface Detector {
  kind: string;
  /** `tracks`: the camera's live tracks, each with its recent samples; those seen in this frame end with `frame.seq`. */
  update(tracks: Track[], frame: FrameInfo): Detection[] | Promise<Detection[]>;
  close?(): Promise<void>;
}

/** The tracks matched in this frame. */
export const seenNow = (tracks: Track[], frame: FrameInfo): Track[] => tracks.filter((t) => t.samples[t.samples.length - 1]!.seq === frame.seq);
