/**
 * The default pose model: BlazePose detector (tiled for small people) → ROI →
 * landmark model, each stage one batched session run for all frames.
 */
import { join } from 'node:path';
import type { Logger } from '@frameline/shared';
import { keypointBox } from './box.js';
import { dropDuplicatePersons } from './dedupe.js';
import { createDetector, DEFAULT_DETECTOR_OPTIONS, type DetectorOptions } from './detector.js';
import { createLandmarkModel, type LandmarkResult, type RoiRequest } from './landmarks.js';
import { roiFromDetection, roiFromPoints, type Roi } from './roi.js';
import { createSession, type SessionOptions } from './session.js';
import { createObjectDetector } from './person-detector.js';
import { createSweepPlanner, detectParts } from './sweep.js';
import type { DecodedImage, Person, PoseModel, PoseResult, TrackingHint } from './types.js';

export type BlazePoseVariant = 'lite' | 'full' | 'heavy';

export interface BlazePoseOptions {
  kind: 'blazepose';
  /** Landmark model size: lite ≈ 8 ms, full ≈ 10 ms, heavy ≈ 32 ms per person on 2 CPU cores. */
  variant: BlazePoseVariant;
  /** Folder with pose_detection.onnx and pose_landmark_<variant>.onnx. */
  modelsDir: string;
  detector: DetectorOptions;
  /** Landmark-model pose presence below this drops the person (MediaPipe: 0.5). */
  minPresence: number;
  /** Keypoints at or above this visibility make up the person box. */
  minVisibility: number;
  /** Persons per frame sent to the landmark model, best detector scores first; bounds the batch. */
  maxPersons: number;
  /** Run the landmark model a second time on the ROI its own auxiliary points give (MediaPipe's tracking ROI). */
  refine: boolean;
  /** Two persons whose keypoint similarity (OKS, 0..1) reaches this are one body found twice (tiles, scales, tracking). */
  duplicateSimilarity: number;
  session: Omit<SessionOptions, 'modelPath'>;
}

export const DEFAULT_BLAZEPOSE_OPTIONS: Omit<BlazePoseOptions, 'modelsDir'> = {
  kind: 'blazepose',
  variant: 'full',
  detector: DEFAULT_DETECTOR_OPTIONS,
  minPresence: 0.5,
  minVisibility: 0.5,
  maxPersons: 16,
  refine: false,
  duplicateSimilarity: 0.5,
  session: {},
};

export async function createBlazePose(options: BlazePoseOptions, logger: Logger): Promise<PoseModel> {
  const log = logger.child('blazepose');
  const objects = options.detector.mode === 'objects';
  const detectorSession = await createSession(
    { ...options.session, modelPath: join(options.modelsDir, objects ? 'centernet.onnx' : 'pose_detection.onnx') },
    log,
    objects ? 'run `npx tsc -b tools/onnx-convert && node tools/onnx-convert/scripts/convert-tfjs-models.mjs` to build centernet.onnx' : undefined,
  );
  const landmarkSession = await createSession(
    { ...options.session, modelPath: join(options.modelsDir, `pose_landmark_${options.variant}.onnx`) },
    log,
  );
  const detector = objects ? createObjectDetector(detectorSession) : createDetector(detectorSession, options.detector);
  const landmarks = createLandmarkModel(landmarkSession);
  const sweep = createSweepPlanner(options.detector, options.detector.mode === 'tiled');

  const toPerson = (result: LandmarkResult, image: DecodedImage): Person => ({
    box: keypointBox(result.keypoints, options.minVisibility, image),
    score: result.presence,
    keypoints: result.keypoints,
  });

  /** The landmark model on `rois[i]` of `images[i]` (refined when configured), flattened in image order. */
  async function estimate(images: DecodedImage[], rois: Roi[][]): Promise<{ owner: number; roi: Roi; result: LandmarkResult }[]> {
    const owners = rois.flatMap((list, i) => list.map((roi) => ({ owner: i, roi })));
    let requests: RoiRequest[] = owners.map(({ owner, roi }) => ({ image: images[owner]!, roi }));
    let results = await landmarks.estimate(requests);
    if (options.refine) {
      requests = requests.map((r, j) => ({ image: r.image, roi: roiFromPoints(...results[j]!.aux) }));
      results = await landmarks.estimate(requests);
    }
    return owners.map((o, j) => ({ ...o, result: results[j]! }));
  }

  return {
    name: `blazepose-${options.variant}`,
    batchable: true,
    async infer(images: DecodedImage[], hints?: (TrackingHint | undefined)[]): Promise<PoseResult[]> {
      const t0 = performance.now();
      // the full detector runs only where no hint says the previous landmarks suffice (see tracking.ts)
      const parts = images.map((image, i) => sweep.part(image, hints?.[i]));
      const detections = await detectParts(detector, images, parts);
      const t1 = performance.now();

      // tracked persons first: the detector may miss one that the landmarks still hold. A detection
      // centred near a person those landmarks found is that person again, not worth a landmark run;
      // near where a track was predicted but its person was not found, it is worth one.
      const tracked = images.map((_, i) => (hints?.[i]?.rois ?? []).slice(0, options.maxPersons));
      const first = await estimate(images, tracked);
      const found = images.map((_, i) => first.filter((r) => r.owner === i && r.result.presence >= options.minPresence).map((r) => roiFromPoints(...r.result.aux)));
      const fresh = images.map((_, i) =>
        detections[i]!.map(roiFromDetection)
          .filter((d) => !found[i]!.some((t) => Math.hypot(t.cx - d.cx, t.cy - d.cy) < t.side / 4))
          .slice(0, options.maxPersons - tracked[i]!.length));
      const all = [...first, ...(await estimate(images, fresh))];
      const t2 = performance.now();

      const timings = { detectMs: t1 - t0, landmarksMs: t2 - t1, totalMs: t2 - t0 };
      return images.map((image, i) => {
        const next = new Map<Person, ReturnType<typeof roiFromPoints>>();
        const persons = all.flatMap(({ owner, roi, result: r }) => {
          if (owner !== i || r.presence < options.minPresence) return [];
          const person = toPerson(r, image);
          // the next ROI follows the same track as the ROI it came from
          next.set(person, { ...roiFromPoints(...r.aux), track: roi.track });
          return [person];
        });
        const kept = dropDuplicatePersons(persons, options.duplicateSimilarity, options.minVisibility);
        return { persons: kept, timings, rois: kept.map((p) => next.get(p)!), detected: parts[i]!.all === true };
      });
    },
    async close() {
      await detectorSession.close();
      await landmarkSession.close();
    },
  };
}
