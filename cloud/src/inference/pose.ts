/**
 * The pose model adapter interface and the factory that builds one from
 * config. `blazepose` is the default; `onnx-keypoints` plugs in a
 * user-supplied single-stage ONNX keypoint model.
 */
import { fileURLToPath } from 'node:url';
import type { Logger } from '@frameline/shared';
import { createBlazePose, DEFAULT_BLAZEPOSE_OPTIONS, type BlazePoseOptions, type BlazePoseVariant } from './blazepose.js';
import type { DetectorOptions } from './detector.js';
import { createOnnxKeypointsModel, type OnnxKeypointsOptions } from './keypoints.js';
import type { SessionOptions } from './session.js';
import type { PoseModel } from './types.js';

export type { DecodedImage, Keypoint, Person, PoseModel, PoseResult, PoseTimings } from './types.js';

/** BlazePose as configured by a user: every field optional, defaults from DEFAULT_BLAZEPOSE_OPTIONS. */
export interface BlazePoseConfig {
  kind?: 'blazepose';
  variant?: BlazePoseVariant;
  /** default: cloud/models of this package */
  modelsDir?: string;
  detector?: Partial<DetectorOptions>;
  minPresence?: number;
  minVisibility?: number;
  maxPersons?: number;
  refine?: boolean;
  duplicateSimilarity?: number;
  /** intra-op threads per session; default onnxruntime's (one per core) */
  threads?: number;
  /** default ['cpu'] */
  executionProviders?: string[];
  graphOptimizationLevel?: SessionOptions['graphOptimizationLevel'];
  warmUp?: boolean;
}

export type PoseModelOptions = BlazePoseConfig | OnnxKeypointsOptions;

/** cloud/models, from cloud/dist/src/inference/ at run time. */
export const DEFAULT_MODELS_DIR = fileURLToPath(new URL('../../../models', import.meta.url));

const VARIANTS: readonly BlazePoseVariant[] = ['lite', 'full', 'heavy'];

function check(ok: boolean, key: string, message: string): void {
  if (!ok) throw new Error(`pose model config: ${key} ${message}`);
}

/** Fills defaults and rejects values that would silently produce nothing. */
export function resolveBlazePoseOptions(config: BlazePoseConfig): BlazePoseOptions {
  const d = DEFAULT_BLAZEPOSE_OPTIONS;
  const detector = { ...d.detector, ...config.detector };
  const options: BlazePoseOptions = {
    kind: 'blazepose',
    variant: config.variant ?? d.variant,
    modelsDir: config.modelsDir ?? DEFAULT_MODELS_DIR,
    detector,
    minPresence: config.minPresence ?? d.minPresence,
    minVisibility: config.minVisibility ?? d.minVisibility,
    maxPersons: config.maxPersons ?? d.maxPersons,
    refine: config.refine ?? d.refine,
    duplicateSimilarity: config.duplicateSimilarity ?? d.duplicateSimilarity,
    session: {
      ...(config.executionProviders ? { executionProviders: config.executionProviders } : {}),
      ...(config.threads ? { intraOpNumThreads: config.threads } : {}),
      ...(config.graphOptimizationLevel ? { graphOptimizationLevel: config.graphOptimizationLevel } : {}),
      warmUp: config.warmUp ?? true,
    },
  };
  check(VARIANTS.includes(options.variant), 'variant', `must be one of ${VARIANTS.join(', ')}`);
  check(['tiled', 'whole', 'objects'].includes(detector.mode), 'detector.mode', 'must be tiled, whole or objects');
  check(detector.tileSize >= 32, 'detector.tileSize', 'must be at least 32 px');
  check(detector.tileOverlap >= 0 && detector.tileOverlap < 1, 'detector.tileOverlap', 'must be in [0, 1)');
  check(options.maxPersons >= 1, 'maxPersons', 'must be at least 1');
  check(options.duplicateSimilarity > 0 && options.duplicateSimilarity <= 1, 'duplicateSimilarity', 'must be in (0, 1]');
  return options;
}

export async function createPoseModel(options: PoseModelOptions, logger: Logger): Promise<PoseModel> {
  if (options.kind === 'onnx-keypoints') return createOnnxKeypointsModel(options, logger);
  return createBlazePose(resolveBlazePoseOptions(options), logger);
}
