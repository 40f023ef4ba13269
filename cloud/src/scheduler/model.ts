// The pose model as the scheduler sees it. These types mirror the adapter
// interface of cloud/src/inference (PoseModel, DecodedImage, PoseResult) so
// the scheduler builds without importing the inference code; workers load the
// real adapters at run time.
import type { Logger } from '@frameline/shared';
import type { ModelOptions } from '../config.js';
import { createSlowModel, decodeJpegWithSharp } from './slow-model.js';

export interface DecodedImage {
  width: number;
  height: number;
  rgb: Buffer;
}

export interface Keypoint {
  name: string;
  x: number;
  y: number;
  z?: number;
  visibility: number;
}

export interface Person {
  box: [number, number, number, number];
  score: number;
  keypoints: Keypoint[];
}

export interface PoseResult {
  persons: Person[];
  timings: Record<string, number>;
}

export interface PoseModel {
  name: string;
  batchable: boolean;
  infer(images: DecodedImage[]): Promise<PoseResult[]>;
  close(): Promise<void>;
}

export type Decode = (jpeg: Buffer) => Promise<DecodedImage>;

/** Module specifiers kept in variables so the build does not depend on files another stage owns. */
const POSE_MODULE = '../inference/pose.js';
const DECODE_MODULE = '../inference/decode.js';

export class ModelUnavailableError extends Error {
  constructor(kind: string, cause: unknown) {
    super(`model kind "${kind}" needs cloud/src/inference/pose.ts (createPoseModel), which could not be loaded: ${(cause as Error).message}. Build the inference stage, or use model.kind "slow-test" for pipeline tests`);
    this.name = 'ModelUnavailableError';
  }
}

/** Builds the configured model and the JPEG decoder that feeds it. */
export async function createModel(options: ModelOptions, logger: Logger): Promise<{ model: PoseModel; decode: Decode }> {
  if (options.kind === 'slow-test') {
    return { model: createSlowModel({ msPerFrame: options.slowTestMs, batchable: options.slowTestBatchable }), decode: decodeJpegWithSharp };
  }
  let pose: { createPoseModel(options: unknown, logger: Logger): Promise<PoseModel> | PoseModel };
  try {
    pose = (await import(POSE_MODULE)) as typeof pose;
  } catch (err) {
    throw new ModelUnavailableError(options.kind, err);
  }
  const model = await pose.createPoseModel(poseModelOptions(options), logger);
  let decode: Decode = decodeJpegWithSharp;
  try {
    const mod = (await import(DECODE_MODULE)) as { decodeJpeg?: Decode };
    if (mod.decodeJpeg) decode = mod.decodeJpeg;
  } catch {
    logger.debug('inference/decode.js not available; decoding with sharp here');
  }
  return { model, decode };
}

/**
 * Our config keys in the inference stage's terms (its BlazePoseConfig).
 * detector "multi" is its tiled detector (several small people), "single" the whole frame.
 */
export function poseModelOptions(o: ModelOptions): Record<string, unknown> {
  if (o.kind === 'onnx-keypoints') {
    // Its OnnxKeypointsOptions need input and decode specs that this config does not describe yet.
    return { kind: 'onnx-keypoints', modelPath: o.path, minVisibility: o.minKeypointScore };
  }
  return {
    kind: 'blazepose',
    variant: o.variant,
    ...(o.path ? { modelsDir: o.path } : {}),
    detector: { mode: o.detector === 'multi' ? 'tiled' : 'whole', minScore: o.minDetectionScore },
    minVisibility: o.minKeypointScore,
    maxPersons: o.maxPersons,
    threads: o.threads,
    executionProviders: [o.provider],
  };
}
