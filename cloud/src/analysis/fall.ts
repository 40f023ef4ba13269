/**
 * `fall`: the hips drop fast while the torso turns from upright to
 * horizontal, then the person lies still. Getting up within `stillMs` of the
 * drop cancels it (an upright sample after the drop means no detection).
 * Distances are in torso lengths (shoulder centre to hip centre), so the rule
 * does not depend on how far the person is from the camera.
 */
import { distance, hipCentre, torsoAngle, torsoLength, type TrackSample } from './body.js';
import { seenNow, type Detection, type Detector } from './detector.js';

export interface FallOptions {
  /** Hip drop from the last upright sample, torso lengths. */
  minDrop: number;
  /** The drop must happen within this many ms. */
  maxDropMs: number;
  /** Then lying (not upright) for this long, ms. */
  stillMs: number;
  /** Largest hip movement while lying, torso lengths. */
  maxStillMotion: number;
  /** Torso within this many degrees of vertical: upright. */
  uprightDeg: number;
  /** Torso at least this many degrees from vertical: lying. */
  lyingDeg: number;
}

export function createFallDetector(o: FallOptions): Detector {
  const upright = (s: TrackSample) => { const a = torsoAngle(s); return a !== undefined && a <= o.uprightDeg; };
  const lying = (s: TrackSample) => { const a = torsoAngle(s); return a !== undefined && a >= o.lyingDeg; };

  function detect(samples: TrackSample[]): Omit<Detection, 'kind' | 'label' | 'tracks'> | undefined {
    let u = samples.length - 1;
    while (u >= 0 && !upright(samples[u]!)) u--;
    if (u < 0 || u === samples.length - 1) return undefined;
    const before = samples[u]!;
    const torso = torsoLength(before);
    const hip0 = hipCentre(before);
    if (!torso || !hip0) return undefined;
    const after = samples.slice(u + 1);
    // the first lying sample within maxDropMs, with the hips far enough down
    const down = after.findIndex((s) => {
      const h = hipCentre(s);
      return s.capturedAt - before.capturedAt <= o.maxDropMs && lying(s) && h !== undefined && h.y - hip0.y >= o.minDrop * torso;
    });
    if (down < 0) return undefined;
    const landed = after[down]!;
    const rest = after.slice(down);
    const now = samples[samples.length - 1]!;
    if (now.capturedAt - landed.capturedAt < o.stillMs) return undefined;
    const hip1 = hipCentre(landed)!;
    const still = rest.every((s) => {
      const h = hipCentre(s);
      return !upright(s) && (h === undefined || distance(h, hip1) <= o.maxStillMotion * torso);
    });
    if (!still) return undefined;
    const drop = (hip1.y - hip0.y) / torso;
    return { score: Math.min(1, drop / (2 * o.minDrop)), startSeq: after[0]!.seq, startedAt: after[0]!.capturedAt };
  }

  return {
    kind: 'fall',
    update(tracks, frame) {
      const out: Detection[] = [];
      for (const t of seenNow(tracks, frame)) {
        const d = detect(t.samples);
        if (d) out.push({ kind: 'fall', label: '', tracks: [t.id], ...d });
      }
      return out;
    },
  };
}
