/** Region of interest for the landmark model, per MediaPipe's pose_detection_to_roi. */
import type { Detection } from './detector.js';
import type { Roi } from './types.js';

export type { Roi } from './types.js';

/** MediaPipe enlarges the body circle by 1.25 so the limbs stay inside the crop. */
const ROI_SCALE = 1.25;

function normaliseRadians(angle: number): number {
  return angle - 2 * Math.PI * Math.floor((angle + Math.PI) / (2 * Math.PI));
}

/**
 * Rotated square from two keypoints: `centre` (mid-hip) and a point on the
 * full-body circle above it. The rotation turns centre→circle point upright
 * (target angle 90°), so the crop shows the person head-up.
 */
export function roiFromPoints(centre: [number, number], circle: [number, number]): Roi {
  const [x0, y0] = centre;
  const [x1, y1] = circle;
  const rotation = normaliseRadians(Math.PI / 2 - Math.atan2(-(y1 - y0), x1 - x0));
  const side = 2 * Math.hypot(x1 - x0, y1 - y0) * ROI_SCALE;
  return { cx: x0, cy: y0, side, rotation };
}

export function roiFromDetection(detection: Detection): Roi {
  const [k0, k1] = detection.keypoints;
  if (!k0 || !k1) throw new Error('detection without the hip/body-circle keypoints');
  return roiFromPoints(k0, k1);
}
