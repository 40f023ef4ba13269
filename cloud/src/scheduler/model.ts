// The pose model as the scheduler's workers build it: the configured kind
// (cloud/src/inference) or the slow-test adapter, plus the JPEG decoder.
import type { Logger } from '@frameline/shared';
import type { ModelOptions } from '../config.js';
import { createPoseModel, decodeJpeg, type DecodedImage, type PoseModel, type PoseModelOptions } from '../inference/index.js';
import { createSlowModel } from './slow-model.js';

export type { DecodedImage, Keypoint, Person, PoseModel, PoseResult, TrackingHint } from '../inference/index.js';
export type Decode = (jpeg: Buffer) => Promise<DecodedImage>;

/** Builds the configured model and the JPEG decoder that feeds it. */
export async function createModel(options: ModelOptions, logger: Logger): Promise<{ model: PoseModel; decode: Decode }> {
  if (options.kind === 'slow-test') {
    return { model: createSlowModel({ msPerFrame: options.slowTestMs, batchable: options.slowTestBatchable }), decode: decodeJpeg };
  }
  return { model: await createPoseModel(poseModelOptions(options), logger), decode: decodeJpeg };
}

const DETECTOR_MODES = { multi: 'tiled', single: 'whole', objects: 'objects' } as const;

/**
 * Our config keys in the inference stage's terms. detector "multi" is the
 * tiled person detector (several small people, the security-camera case),
 * "single" one detection over the whole frame (one person filling it),
 * "objects" the CenterNet COCO detector's person boxes (see cloud/models/README.md for its license caveat).
 */
export function poseModelOptions(o: ModelOptions): PoseModelOptions {
  if (o.kind === 'onnx-keypoints') {
    // input/decode are passed as written; the adapter names any missing key.
    const session = { intraOpNumThreads: o.threads, executionProviders: [o.provider] };
    return { kind: 'onnx-keypoints', modelPath: o.path, minVisibility: o.minKeypointScore, input: o.input, decode: o.decode, session } as unknown as PoseModelOptions;
  }
  return {
    kind: 'blazepose',
    variant: o.variant,
    ...(o.path ? { modelsDir: o.path } : {}),
    detector: { mode: DETECTOR_MODES[o.detector], minScore: o.minDetectionScore },
    minVisibility: o.minKeypointScore,
    maxPersons: o.maxPersons,
    threads: o.threads,
    executionProviders: [o.provider],
  };
}
