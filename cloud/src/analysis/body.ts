/**
 * Body measures from one person's keypoints (frame pixels, y down), shared by
 * the tracker and the rule detectors. Points below MIN_VISIBILITY count as absent.
 */
import type { Keypoint, Person } from '../inference/index.js';

export const MIN_VISIBILITY = 0.3;

export interface Point {
  x: number;
  y: number;
}

/** One inferred frame of one track. */
export interface TrackSample {
  seq: number;
  /** Epoch ms (capture time of the frame). */
  capturedAt: number;
  box: Person['box'];
  keypoints: Keypoint[];
}

export function point(keypoints: Keypoint[], name: string): Point | undefined {
  const k = keypoints.find((p) => p.name === name);
  return k && k.visibility >= MIN_VISIBILITY ? { x: k.x, y: k.y } : undefined;
}

function mid(keypoints: Keypoint[], a: string, b: string): Point | undefined {
  const p = point(keypoints, a);
  const q = point(keypoints, b);
  if (p && q) return { x: (p.x + q.x) / 2, y: (p.y + q.y) / 2 };
  return p ?? q;
}

export const hipCentre = (s: TrackSample): Point | undefined => mid(s.keypoints, 'left_hip', 'right_hip');
export const shoulderCentre = (s: TrackSample): Point | undefined => mid(s.keypoints, 'left_shoulder', 'right_shoulder');

export const distance = (a: Point, b: Point): number => Math.hypot(a.x - b.x, a.y - b.y);

/** Shoulder centre to hip centre, pixels: the body's scale that survives lying down. */
export function torsoLength(s: TrackSample): number | undefined {
  const h = hipCentre(s);
  const sh = shoulderCentre(s);
  return h && sh ? distance(h, sh) : undefined;
}

/** Degrees between the hip-to-shoulder line and straight up: 0 upright, 90 horizontal, 180 upside down. */
export function torsoAngle(s: TrackSample): number | undefined {
  const h = hipCentre(s);
  const sh = shoulderCentre(s);
  if (!h || !sh || distance(h, sh) === 0) return undefined;
  return (Math.acos((h.y - sh.y) / distance(h, sh)) * 180) / Math.PI;
}

/** Where the person stands: the mean of the visible feet points, else the bottom centre of the box. */
export function feet(s: TrackSample): Point {
  const pts = ['left_ankle', 'right_ankle', 'left_heel', 'right_heel', 'left_foot_index', 'right_foot_index']
    .map((n) => point(s.keypoints, n))
    .filter((p): p is Point => p !== undefined);
  if (pts.length === 0) return { x: s.box[0] + s.box[2] / 2, y: s.box[1] + s.box[3] };
  return { x: pts.reduce((a, p) => a + p.x, 0) / pts.length, y: pts.reduce((a, p) => a + p.y, 0) / pts.length };
}

/** Ray casting; `polygon` and `p` in the same units. */
export function insidePolygon(p: Point, polygon: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!;
    const [xj, yj] = polygon[j]!;
    if (yi > p.y !== yj > p.y && p.x < ((xj - xi) * (p.y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * COCO's object keypoint similarity (OKS), 0..1, over the keypoints both
 * persons see, with one falloff for every joint: `kappa` times the box scale.
 */
export function keypointSimilarity(a: Keypoint[], b: Keypoint[], scale: number, kappa = 0.1): number {
  let sum = 0;
  let n = 0;
  const s2 = 2 * (scale * kappa) ** 2;
  for (const ka of a) {
    if (ka.visibility < MIN_VISIBILITY) continue;
    const kb = b.find((k) => k.name === ka.name);
    if (!kb || kb.visibility < MIN_VISIBILITY) continue;
    sum += Math.exp(-((ka.x - kb.x) ** 2 + (ka.y - kb.y) ** 2) / s2);
    n++;
  }
  return n > 0 ? sum / n : 0;
}
