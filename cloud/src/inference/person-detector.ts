/**
 * Multi-person detector from a COCO object detector: CenterNet (MobileNetV3,
 * 512×512) of the @vladmandic/human package, converted to ONNX by the
 * project's TFJS converter (cloud/models/centernet.onnx, see README there).
 *
 * Unlike the BlazePose detector it boxes the whole body and does not need a
 * visible face, so one whole-frame pass finds small CCTV people that the
 * tiled BlazePose detector misses. It returns the same `Detection` shape as
 * detector.ts so the BlazePose landmark stage can consume it unchanged:
 * `box` is the person box, and k0/k1 are synthesised as the box centre and
 * the point half the box's longer side above it, so MediaPipe's ROI rule
 * (side = 2·|k1−k0|·1.25, upright) gives a square 1.25× the person's height.
 *
 * Model interface (batch fixed at 1, the graph's own top-k decode is kept):
 * input `tower_0/images` [1,512,512,3] RGB 0..255 float32, the frame
 * stretched to the square (no letterbox, as @vladmandic/human feeds it);
 * output `tower_0/detections` [1,100,6] = x1, y1, x2, y2 (input px), score,
 * class (0 = person, COCO order), sorted by score.
 */
import { iou as boxIou, type Box } from './box.js';
import type { Detection, Detector } from './detector.js';
import type { ModelSession } from './session.js';
import type { DecodedImage } from './types.js';
import { warpInto } from './warp.js';

export interface ObjectDetectorOptions {
  /** Keep detections scoring at least this (people on the CCTV fixture score 0.58–0.65; the best non-person 0.33). */
  minScore: number;
  /**
   * ...or this, for a box that touches the frame edge: CenterNet sees only part
   * of a person cut by it and scores lower (0.31 for one cut at the waist, next
   * to 0.77 for a whole one); the landmark model's presence then decides.
   */
  edgeMinScore: number;
  /** Greedy NMS IoU among person boxes (CenterNet's own 3×3 peak pooling already removes most duplicates). */
  nmsIou: number;
  /** COCO class index for person in the model's output. */
  personClass: number;
}

export const DEFAULT_OBJECT_DETECTOR_OPTIONS: ObjectDetectorOptions = { minScore: 0.4, edgeMinScore: 0.25, nmsIou: 0.5, personClass: 0 };

const OUTPUT = 'tower_0/detections';
const VALUES_PER_DETECTION = 6;
const RAW_RGB = { scale: 1, offset: 0 };

/** Person boxes [x, y, w, h] in frame px, with scores, from one `tower_0/detections` row block. */
export function decodePersons(
  raw: Float32Array,
  inputW: number,
  inputH: number,
  frameW: number,
  frameH: number,
  options: ObjectDetectorOptions,
): { box: Box; score: number }[] {
  const sx = frameW / inputW;
  const sy = frameH / inputH;
  const found: { box: Box; score: number }[] = [];
  for (let i = 0; i + VALUES_PER_DETECTION <= raw.length; i += VALUES_PER_DETECTION) {
    const score = raw[i + 4]!;
    if (raw[i + 5] !== options.personClass || !(score >= Math.min(options.minScore, options.edgeMinScore))) continue;
    const x1 = Math.max(0, raw[i]! * sx);
    const y1 = Math.max(0, raw[i + 1]! * sy);
    const x2 = Math.min(frameW, raw[i + 2]! * sx);
    const y2 = Math.min(frameH, raw[i + 3]! * sy);
    if (x2 <= x1 || y2 <= y1) continue;
    const cut = x1 <= 0 || y1 <= 0 || x2 >= frameW || y2 >= frameH;
    if (score < (cut ? options.edgeMinScore : options.minScore)) continue;
    found.push({ box: [x1, y1, x2 - x1, y2 - y1], score });
  }
  found.sort((a, b) => b.score - a.score);
  const kept: { box: Box; score: number }[] = [];
  for (const d of found) if (kept.every((k) => boxIou(k.box, d.box) <= options.nmsIou)) kept.push(d);
  return kept;
}

/** A Detection for the BlazePose ROI step: k0 = box centre, k1 = half the longer side straight above. */
export function personDetection(box: Box, score: number): Detection {
  const [x, y, w, h] = box;
  const cx = x + w / 2;
  const cy = y + h / 2;
  const r = Math.max(w, h) / 2;
  return { score, box, keypoints: [[cx, cy], [cx, cy - r]] };
}

export function createObjectDetector(session: ModelSession, options: ObjectDetectorOptions = DEFAULT_OBJECT_DETECTOR_OPTIONS): Detector {
  const [inputH = 0, inputW = 0, channels = 0] = session.itemShape;
  if (channels !== 3 || inputH <= 0 || inputW <= 0) throw new Error(`object detector: expected an NHWC RGB input, got [${session.itemShape}]`);
  const input = new Float32Array(inputH * inputW * 3);
  return {
    async detect(images: DecodedImage[]): Promise<Detection[][]> {
      const results: Detection[][] = [];
      // The converted graph has batch 1 (its top-k decode reshapes to [1, -1]): one run per frame.
      for (const image of images) {
        const m = { originX: 0, originY: 0, uxX: image.width / inputW, uxY: 0, vyX: 0, vyY: image.height / inputH };
        warpInto(image, m, { data: input, offset: 0, width: inputW, height: inputH, layout: 'NHWC' }, RAW_RGB, 'replicate');
        const out = await session.run(input, 1);
        const raw = out[OUTPUT];
        if (!raw) throw new Error(`object detector: output ${OUTPUT} missing; is this centernet.onnx?`);
        results.push(decodePersons(raw, inputW, inputH, image.width, image.height, options).map((d) => personDetection(d.box, d.score)));
      }
      return results;
    },
  };
}
