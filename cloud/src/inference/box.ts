/** Axis-aligned boxes [x, y, width, height] in frame pixels. */
import type { DecodedImage, Keypoint } from './types.js';

export type Box = [number, number, number, number];

export function iou(a: Box, b: Box): number {
  const ix = Math.max(0, Math.min(a[0] + a[2], b[0] + b[2]) - Math.max(a[0], b[0]));
  const iy = Math.max(0, Math.min(a[1] + a[3], b[1] + b[3]) - Math.max(a[1], b[1]));
  const inter = ix * iy;
  const union = a[2] * a[3] + b[2] * b[3] - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Joints are centres: the body outline (head top, shoulders, hands, feet)
 * lies outside them by roughly a tenth of the body's extent on each side.
 */
const OUTLINE_MARGIN = 0.1;

/**
 * Person box from keypoints: bounds of those at or above `minVisibility` (all
 * of them when fewer than two are), grown by OUTLINE_MARGIN, clipped to the
 * frame. A joint the landmark model places outside the frame (any visibility)
 * counts too, at the frame edge: the body runs to that edge (a person cut by it).
 */
export function keypointBox(keypoints: Keypoint[], minVisibility: number, image: Pick<DecodedImage, 'width' | 'height'>): Box {
  const outside = (k: Keypoint): boolean => k.x < 0 || k.y < 0 || k.x > image.width || k.y > image.height;
  const visible = keypoints.filter((k) => k.visibility >= minVisibility || outside(k));
  const points = visible.length >= 2 ? visible : keypoints;
  const xs = points.map((k) => Math.min(Math.max(k.x, 0), image.width));
  const ys = points.map((k) => Math.min(Math.max(k.y, 0), image.height));
  const mx = (Math.max(...xs) - Math.min(...xs)) * OUTLINE_MARGIN;
  const my = (Math.max(...ys) - Math.min(...ys)) * OUTLINE_MARGIN;
  const x0 = Math.max(Math.min(...xs) - mx, 0);
  const y0 = Math.max(Math.min(...ys) - my, 0);
  const x1 = Math.min(Math.max(...xs) + mx, image.width);
  const y1 = Math.min(Math.max(...ys) + my, image.height);
  return [x0, y0, Math.max(x1 - x0, 0), Math.max(y1 - y0, 0)];
}
