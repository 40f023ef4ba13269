// The production model factory that inference workers load (see ModelSpec
// in protocol.ts): the configured pose model from cloud/src/inference and the
// JPEG decoder. Also maps our config keys to the inference stage's options.
import type { Logger } from '@frameline/shared';
import type { ModelOptions } from '../../config.js';
import { createPoseModel, decodeJpeg, type PoseModelOptions } from '../index.js';
import type { BuiltModel, ModelSpec } from './protocol.js';

/** The ModelFactory entry point: builds the configured model in a worker. */
export async function createModel(options: ModelOptions, logger: Logger): Promise<BuiltModel> {
  return { model: await createPoseModel(poseModelOptions(options), logger), decode: decodeJpeg };
}

/** The spec that makes every worker build the configured model. */
export function configuredModel(options: ModelOptions): ModelSpec {
  return { module: import.meta.url, options };
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
