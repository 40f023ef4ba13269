/**
 * `fight` (a low-confidence heuristic): two people close together whose
 * wrists or ankles move fast toward each other, in most of the recent frame
 * steps. Limb speed is taken relative to the person's own hips, so walking
 * side by side is not motion toward each other; distances are in torso
 * lengths. Hugs, dancing and sports can look the same: treat its alerts as
 * "look at this camera", not as a verdict.
 */
import { distance, hipCentre, point, torsoLength, type Point, type TrackSample } from './body.js';
import { seenNow, type Detection, type Detector, type FrameInfo } from './detector.js';
import type { Track } from './tracker.js';

export interface FightOptions {
  /** Hip centres at most this far apart, torso lengths. */
  maxDistance: number;
  /** Limb speed toward the other person, torso lengths per second. */
  minLimbSpeed: number;
  /** Look back this far, ms. */
  windowMs: number;
  /** Frame steps (both persons seen in two consecutive samples) needed in the window. */
  minSteps: number;
  /** Share of those steps that must be close and fast, 0..1. */
  minActiveShare: number;
}

const LIMBS = ['left_wrist', 'right_wrist', 'left_ankle', 'right_ankle'];
/** Steps further apart than this are gaps, not motion. */
const MAX_STEP_MS = 1500;

/** Fastest limb speed of `s1` (relative to its hips) along the direction to `target`, torso lengths per second. */
function approachSpeed(s0: TrackSample, s1: TrackSample, target: Point): number {
  const h0 = hipCentre(s0);
  const h1 = hipCentre(s1);
  const torso = torsoLength(s1);
  const dt = (s1.capturedAt - s0.capturedAt) / 1000;
  if (!h0 || !h1 || !torso || dt <= 0) return 0;
  const dist = distance(h1, target);
  if (dist === 0) return 0;
  const dir = { x: (target.x - h1.x) / dist, y: (target.y - h1.y) / dist };
  let best = 0;
  for (const limb of LIMBS) {
    const p0 = point(s0.keypoints, limb);
    const p1 = point(s1.keypoints, limb);
    if (!p0 || !p1) continue;
    const vx = (p1.x - h1.x - (p0.x - h0.x)) / dt;
    const vy = (p1.y - h1.y - (p0.y - h0.y)) / dt;
    best = Math.max(best, (vx * dir.x + vy * dir.y) / torso);
  }
  return best;
}

export function createFightDetector(o: FightOptions): Detector {
  function pair(a: Track, b: Track, frame: FrameInfo): Detection | undefined {
    const bySeq = new Map(b.samples.map((s) => [s.seq, s]));
    const recent = a.samples.filter((s) => frame.capturedAt - s.capturedAt <= o.windowMs);
    let steps = 0;
    let active = 0;
    let firstActive: TrackSample | undefined;
    let peak = 0;
    for (let i = 1; i < recent.length; i++) {
      const a0 = recent[i - 1]!;
      const a1 = recent[i]!;
      const b0 = bySeq.get(a0.seq);
      const b1 = bySeq.get(a1.seq);
      if (!b0 || !b1 || a1.capturedAt - a0.capturedAt > MAX_STEP_MS) continue;
      const ha = hipCentre(a1);
      const hb = hipCentre(b1);
      const torso = Math.max(torsoLength(a1) ?? 0, torsoLength(b1) ?? 0);
      if (!ha || !hb || torso === 0) continue;
      steps++;
      const speed = Math.max(approachSpeed(a0, a1, hb), approachSpeed(b0, b1, ha));
      if (distance(ha, hb) <= o.maxDistance * torso && speed >= o.minLimbSpeed) {
        active++;
        peak = Math.max(peak, speed);
        firstActive ??= a0;
      }
    }
    if (steps < o.minSteps || !firstActive || active / steps < o.minActiveShare) return undefined;
    // a heuristic: its score never claims certainty
    const score = Math.min(0.9, (active / steps) * Math.min(1, peak / (2 * o.minLimbSpeed)) + 0.3);
    return { kind: 'fight', label: '', tracks: [a.id, b.id].sort(), score, startSeq: firstActive.seq, startedAt: firstActive.capturedAt };
  }

  return {
    kind: 'fight',
    update(tracks, frame) {
      const now = seenNow(tracks, frame);
      const out: Detection[] = [];
      for (let i = 0; i < now.length; i++) {
        for (let j = i + 1; j < now.length; j++) {
          const d = pair(now[i]!, now[j]!, frame);
          if (d) out.push(d);
        }
      }
      return out;
    },
  };
}
