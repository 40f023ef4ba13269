/**
 * When the person detector runs, per camera (MediaPipe's pose tracking, for
 * several people): a tracked person's next ROI comes from its previous
 * landmarks, and the detector runs only every `detectEvery` frames, after
 * `detectIntervalMs`, when a tracked person was lost, or when nobody is
 * tracked, so that people who entered meanwhile are found.
 */
import type { PoseResult, TrackingHint } from './types.js';
import type { Roi } from './roi.js';

export interface DetectionScheduleOptions {
  /** Run the detector on at least every Nth inferred frame of a camera (1: every frame, no tracking). */
  detectEvery: number;
  /** ...and at least this often, ms of capture time. */
  detectIntervalMs: number;
}

export interface DetectionSchedule {
  /** The hint for a camera's next frame. */
  hint(camera: string, run: string, capturedAt: number): TrackingHint;
  /** Takes in a camera's result (in the order results arrive). */
  observe(camera: string, run: string, capturedAt: number, result: PoseResult): void;
  /** Frames inferred with and without the detector, for /metrics and benchmarks. */
  counts(): { detected: number; tracked: number };
}

interface CameraState {
  run: string;
  rois: Roi[];
  framesSinceDetect: number;
  lastDetectAt: number;
  lost: boolean;
  lastAt: number;
}

const IDLE_MS = 10 * 60_000;

export function createDetectionSchedule(o: DetectionScheduleOptions): DetectionSchedule {
  const cameras = new Map<string, CameraState>();
  const counts = { detected: 0, tracked: 0 };
  return {
    hint(camera, run, capturedAt) {
      const s = cameras.get(camera);
      if (!s || s.run !== run || s.rois.length === 0) return { rois: [], detect: true };
      const detect = s.lost || s.framesSinceDetect + 1 >= o.detectEvery || capturedAt - s.lastDetectAt >= o.detectIntervalMs;
      return { rois: s.rois, detect };
    },
    observe(camera, run, capturedAt, result) {
      for (const [c, x] of cameras) if (capturedAt - x.lastAt > IDLE_MS) cameras.delete(c);
      let s = cameras.get(camera);
      if (!s || s.run !== run) {
        s = { run, rois: [], framesSinceDetect: 0, lastDetectAt: capturedAt, lost: false, lastAt: capturedAt };
        cameras.set(camera, s);
      }
      const detected = result.detected ?? true;
      if (detected) counts.detected++;
      else counts.tracked++;
      // a tracked person whose landmarks found nobody: look again with the detector next time
      s.lost = !detected && (result.rois?.length ?? 0) < s.rois.length;
      s.framesSinceDetect = detected ? 0 : s.framesSinceDetect + 1;
      if (detected) s.lastDetectAt = capturedAt;
      s.rois = result.rois ?? [];
      s.lastAt = capturedAt;
    },
    counts: () => ({ ...counts }),
  };
}
