/**
 * Pose tracking per camera (MediaPipe's, for several people, at the low
 * inferred frame rates of a shared CPU): a tracked person's next ROI comes
 * from its previous landmarks, moved by the track's velocity to the next
 * frame's capture time. The full person detector runs only every
 * `detectEvery` frames / `detectIntervalMs`, or when nobody is tracked; in
 * between, on the tile with motion that no track explains (someone walking
 * in; see sweep.ts) and a square around each person lost since the last frame. A track whose landmark
 * presence falls below `minTrackPresence` is dropped, so a detector false
 * positive dies instead of being carried from frame to frame.
 */
import type { PoseResult, TrackingHint } from './types.js';
import type { Roi } from './roi.js';

export interface DetectionScheduleOptions {
  /** Run the full detector on at least every Nth inferred frame of a camera (1: every frame). */
  detectEvery: number;
  /** ...and at least this often, ms of capture time. */
  detectIntervalMs: number;
  /** Between full passes, a sweep (the detector on the tile with untracked motion) on every Nth tracked frame; 0: none. */
  sweepEvery: number;
  /** Landmark presence (0..1, averaged over a track's frames) below which a track is dropped. */
  minTrackPresence: number;
}

export const DEFAULT_DETECTION_SCHEDULE: DetectionScheduleOptions = { detectEvery: 20, detectIntervalMs: 4000, sweepEvery: 1, minTrackPresence: 0.8 };

export interface DetectionCounts {
  /** frames with the full detector */
  detected: number;
  /** frames without it (tracked ROIs, edge sweep, searches) */
  tracked: number;
  /** tracks dropped for low presence (false positives, mostly) */
  dropped: number;
  /** tracks lost (no person in their ROI) */
  lost: number;
}

export interface DetectionSchedule {
  /** The hint for a camera's next frame. */
  hint(camera: string, run: string, capturedAt: number): TrackingHint;
  /** Takes in a camera's result (in the order results arrive). */
  observe(camera: string, run: string, capturedAt: number, result: PoseResult): void;
  /** For /metrics and benchmarks. */
  counts(): DetectionCounts;
}

interface Track {
  id: number;
  /** the ROI at `at`, from the landmarks of that frame */
  roi: Roi;
  /** centre velocity, frame px per ms */
  vx: number;
  vy: number;
  at: number;
  /** running mean of the landmark model's presence */
  presence: number;
  frames: number;
}

interface CameraState {
  run: string;
  tracks: Track[];
  framesSinceDetect: number;
  lastDetectAt: number;
  trackedFrames: number;
  sweep: number;
  /** predicted ROIs of persons lost in the last result, for the next hint */
  search: Roi[];
  lastAt: number;
}

const IDLE_MS = 10 * 60_000;
/** Weight of the newest frame in a track's velocity and presence means. */
const SMOOTHING = 0.5;
/** A prediction moves the ROI at most this fraction of its side: a bad velocity cannot throw it off the person. */
const MAX_SHIFT = 0.5;
/** Only tracks seen on this many frames are searched for when lost; younger ones are left to the detector. */
const SEARCH_AFTER_FRAMES = 3;

/** The track's ROI moved by its velocity to `at`. */
export function predictRoi(track: Pick<Track, 'roi' | 'vx' | 'vy' | 'at' | 'id'>, at: number): Roi {
  const dt = Math.max(0, at - track.at);
  const limit = MAX_SHIFT * track.roi.side;
  const dx = Math.max(-limit, Math.min(limit, track.vx * dt));
  const dy = Math.max(-limit, Math.min(limit, track.vy * dt));
  return { ...track.roi, cx: track.roi.cx + dx, cy: track.roi.cy + dy, track: track.id };
}

export function createDetectionSchedule(o: DetectionScheduleOptions): DetectionSchedule {
  const cameras = new Map<string, CameraState>();
  const counts: DetectionCounts = { detected: 0, tracked: 0, dropped: 0, lost: 0 };
  let nextId = 1;

  /** Continues the track `roi` follows (by id, else the nearest unclaimed one within half its side) or starts one. */
  function follow(s: CameraState, claimed: Set<Track>, roi: Roi, presence: number, at: number): Track {
    const prev = s.tracks.find((t) => t.id === roi.track && !claimed.has(t))
      ?? s.tracks.filter((t) => !claimed.has(t)).map((t) => ({ t, d: Math.hypot(t.roi.cx - roi.cx, t.roi.cy - roi.cy) }))
        .filter(({ t, d }) => d < t.roi.side / 2).sort((a, b) => a.d - b.d)[0]?.t;
    const { track: _, ...plain } = roi;
    if (!prev) return { id: nextId++, roi: plain, vx: 0, vy: 0, at, presence: (1 + presence) / 2, frames: 1 };
    claimed.add(prev);
    const dt = at - prev.at;
    const mix = (old: number, now: number): number => (prev.frames > 1 ? old + SMOOTHING * (now - old) : now);
    return {
      id: prev.id,
      roi: plain,
      vx: dt > 0 ? mix(prev.vx, (roi.cx - prev.roi.cx) / dt) : prev.vx,
      vy: dt > 0 ? mix(prev.vy, (roi.cy - prev.roi.cy) / dt) : prev.vy,
      at,
      presence: prev.presence + SMOOTHING * (presence - prev.presence),
      frames: prev.frames + 1,
    };
  }

  return {
    hint(camera, run, capturedAt) {
      const s = cameras.get(camera);
      if (!s || s.run !== run || s.tracks.length === 0) return { rois: [], detect: true, camera };
      const rois = s.tracks.map((t) => predictRoi(t, capturedAt));
      const detect = s.framesSinceDetect + 1 >= o.detectEvery || capturedAt - s.lastDetectAt >= o.detectIntervalMs;
      if (detect) return { rois, detect, camera };
      const hint: TrackingHint = { rois, detect, camera };
      if (o.sweepEvery > 0 && s.trackedFrames++ % o.sweepEvery === 0) hint.sweep = s.sweep++;
      if (s.search.length > 0) {
        // a search is made once: a person not found there is left to the sweep and the next full pass
        hint.search = s.search;
        s.search = [];
      }
      return hint;
    },
    observe(camera, run, capturedAt, result) {
      for (const [c, x] of cameras) if (capturedAt - x.lastAt > IDLE_MS) cameras.delete(c);
      let s = cameras.get(camera);
      if (!s || s.run !== run) {
        s = { run, tracks: [], framesSinceDetect: 0, lastDetectAt: capturedAt, trackedFrames: 0, sweep: 0, search: [], lastAt: capturedAt };
        cameras.set(camera, s);
      }
      const detected = result.detected ?? true;
      if (detected) counts.detected++;
      else counts.tracked++;
      // two workers can finish a camera's frames out of order: an older frame's result says nothing new
      if (capturedAt < s.lastAt) return;
      s.framesSinceDetect = detected ? 0 : s.framesSinceDetect + 1;
      if (detected) s.lastDetectAt = capturedAt;

      const claimed = new Set<Track>();
      const next: Track[] = [];
      (result.rois ?? []).forEach((roi, i) => {
        const track = follow(s, claimed, roi, result.persons[i]?.score ?? 1, capturedAt);
        if (track.presence >= o.minTrackPresence) next.push(track);
        else counts.dropped++;
      });
      const lost = s.tracks.filter((t) => !claimed.has(t));
      counts.lost += lost.length;
      s.search = lost.filter((t) => t.frames >= SEARCH_AFTER_FRAMES && t.presence >= o.minTrackPresence).map((t) => predictRoi(t, capturedAt));
      s.tracks = next;
      s.lastAt = capturedAt;
    },
    counts: () => ({ ...counts }),
  };
}
