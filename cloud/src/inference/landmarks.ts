/**
 * BlazePose landmark model on rotated person crops, one session run per ROI;
 * keypoints are projected back to frame pixels through the inverse of the
 * crop transform.
 */
import type { Roi } from './roi.js';
import type { ModelSession } from './session.js';
import { BLAZEPOSE_KEYPOINTS, type DecodedImage, type Keypoint } from './types.js';
import { rotatedSquareAffine, warpInto } from './warp.js';

const INPUT = 256;
/** 39 landmarks × (x, y, z, visibility logit, presence logit); the first 33 are body points. */
const VALUES_PER_LANDMARK = 5;
const NUM_OUTPUT_LANDMARKS = 39;
const NORMALISE_0_1 = { scale: 1 / 255, offset: 0 };

export interface RoiRequest {
  image: DecodedImage;
  roi: Roi;
}

export interface LandmarkResult {
  /** pose presence from the model (probability) */
  presence: number;
  keypoints: Keypoint[];
  /** auxiliary points 33/34 (centre, body-circle point) for a refined ROI, frame px */
  aux: [[number, number], [number, number]];
}

export interface LandmarkModel {
  estimate(requests: RoiRequest[]): Promise<LandmarkResult[]>;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Crop-pixel point → frame pixels: the forward crop transform applied to the landmark position. */
export function projectToFrame(roi: Roi, x: number, y: number): [number, number] {
  const dx = (x / INPUT - 0.5) * roi.side;
  const dy = (y / INPUT - 0.5) * roi.side;
  const cos = Math.cos(roi.rotation);
  const sin = Math.sin(roi.rotation);
  return [roi.cx + dx * cos - dy * sin, roi.cy + dx * sin + dy * cos];
}

function decodeItem(values: Float32Array, presence: number, item: number, roi: Roi): LandmarkResult {
  const base = item * NUM_OUTPUT_LANDMARKS * VALUES_PER_LANDMARK;
  const at = (k: number, f: number): number => values[base + k * VALUES_PER_LANDMARK + f]!;
  const keypoints = BLAZEPOSE_KEYPOINTS.map((name, k): Keypoint => {
    const [x, y] = projectToFrame(roi, at(k, 0), at(k, 1));
    return { name, x, y, z: (at(k, 2) / INPUT) * roi.side, visibility: sigmoid(at(k, 3)) };
  });
  const aux: LandmarkResult['aux'] = [projectToFrame(roi, at(33, 0), at(33, 1)), projectToFrame(roi, at(34, 0), at(34, 1))];
  return { presence, keypoints, aux };
}

export function createLandmarkModel(session: ModelSession): LandmarkModel {
  return {
    async estimate(requests) {
      // One session run per ROI: on CPU a batch costs more per item than single runs
      // (~20% for 4 ROIs with one intra-op thread, measured), and one item's buffer is reused.
      const input = new Float32Array(INPUT * INPUT * 3);
      const results: LandmarkResult[] = [];
      for (const { image, roi } of requests) {
        const affine = rotatedSquareAffine(roi.cx, roi.cy, roi.side, roi.rotation, INPUT);
        // MediaPipe's ImageToTensor default: a crop past the frame edge repeats the edge pixels
        warpInto(image, affine, { data: input, offset: 0, width: INPUT, height: INPUT, layout: 'NHWC' }, NORMALISE_0_1, 'replicate');
        const out = await session.run(input, 1);
        const values = out['Identity'];
        const presence = out['Identity_1'];
        if (!values || !presence) throw new Error('landmark model: outputs Identity/Identity_1 missing; is this pose_landmark_*.onnx?');
        results.push(decodeItem(values, presence[0]!, 0, roi));
      }
      return results;
    },
  };
}
