/**
 * One body, one person: after the landmark model, two skeletons whose joints
 * lie on the same places are the same body found twice (two tiles, two
 * detector scales, a tracked ROI and a fresh detection). Box IoU cannot tell
 * that on its own: a partial skeleton nested in a whole one has a small IoU,
 * and two people hugging have a large one. So the test is COCO's object
 * keypoint similarity (OKS) over the joints both skeletons see.
 */
import type { Person } from './types.js';

/**
 * COCO's per-keypoint falloff constants σ (the spread of human annotators'
 * clicks, relative to the object's scale), by BlazePose/COCO keypoint name.
 */
const COCO_SIGMAS: Readonly<Record<string, number>> = {
  nose: 0.026, left_eye: 0.025, right_eye: 0.025, left_ear: 0.035, right_ear: 0.035,
  left_shoulder: 0.079, right_shoulder: 0.079, left_elbow: 0.072, right_elbow: 0.072,
  left_wrist: 0.062, right_wrist: 0.062, left_hip: 0.107, right_hip: 0.107,
  left_knee: 0.087, right_knee: 0.087, left_ankle: 0.089, right_ankle: 0.089,
};

/** Fewer joints seen by both than this: no evidence either way, the two count as different people. */
const MIN_SHARED_KEYPOINTS = 3;

/**
 * OKS of two persons, 0..1: the mean over the COCO joints visible (≥ `minVisibility`)
 * in both of exp(−d² / (2·s²·(2σ)²)), d the joint distance in px and s² the
 * smaller person's box area in px² (COCO uses the object's area). 0 when fewer
 * than 3 joints are shared.
 */
export function keypointSimilarity(a: Person, b: Person, minVisibility: number): number {
  const area = Math.min(a.box[2] * a.box[3], b.box[2] * b.box[3]);
  if (!(area > 0)) return 0;
  const at = new Map(b.keypoints.map((k) => [k.name, k]));
  let sum = 0;
  let shared = 0;
  for (const p of a.keypoints) {
    const sigma = COCO_SIGMAS[p.name];
    const q = at.get(p.name);
    if (sigma === undefined || !q || p.visibility < minVisibility || q.visibility < minVisibility) continue;
    const d2 = (p.x - q.x) ** 2 + (p.y - q.y) ** 2;
    sum += Math.exp(-d2 / (2 * area * (2 * sigma) ** 2));
    shared++;
  }
  return shared >= MIN_SHARED_KEYPOINTS ? sum / shared : 0;
}

const visibleCount = (p: Person, minVisibility: number): number => p.keypoints.filter((k) => k.visibility >= minVisibility).length;

/**
 * Keeps one person per body: best score first (ties: more visible joints),
 * each later one dropped when its keypoint similarity with a kept one is at
 * least `threshold` (0..1; COCO counts OKS 0.5 as a loose match).
 */
export function dropDuplicatePersons(persons: Person[], threshold: number, minVisibility: number): Person[] {
  const ranked = [...persons].sort((p, q) => q.score - p.score || visibleCount(q, minVisibility) - visibleCount(p, minVisibility));
  const kept: Person[] = [];
  for (const p of ranked) if (!kept.some((k) => keypointSimilarity(k, p, minVisibility) >= threshold)) kept.push(p);
  return kept;
}
