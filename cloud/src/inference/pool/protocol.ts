// Messages between the pool (main thread) and an inference worker, and the
// contract of the module a worker builds its model with.
import type { Logger } from '@frameline/shared';
import type { DecodedImage, PoseModel, PoseResult, TrackingHint } from '../index.js';

/** Decodes a JPEG, refusing frames with more than maxPixels pixels from their header. */
export type Decode = (jpeg: Buffer, maxPixels?: number) => Promise<DecodedImage>;

/** What a model factory module builds in each worker: the model and the JPEG decoder that feeds it. */
export interface BuiltModel {
  model: PoseModel;
  decode: Decode;
}

/** A model factory module: exports createModel(options, logger). */
export interface ModelFactory {
  createModel(options: unknown, logger: Logger): Promise<BuiltModel>;
}

/**
 * Which model every worker builds: the file URL of a ModelFactory module and
 * its serialisable options. Production uses ./model.ts with the config's
 * model options; tests pass their own module (cloud/test/slow-model.ts).
 */
export interface ModelSpec {
  module: string;
  options: unknown;
}

export interface WorkerInit {
  model: ModelSpec;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  index: number;
  /** Frames with more pixels are refused from their header (ingest.maxFramePixels). */
  maxPixels: number;
}

export interface RunRequest {
  type: 'run';
  id: number;
  jpegs: Uint8Array[];
  /** Per image, where the model should look (tracking); see inference/tracking.ts. */
  hints?: (TrackingHint | undefined)[];
}

export type ImageOutcome =
  | { ok: true; result: PoseResult; width: number; height: number }
  | { ok: false; error: string };

export type WorkerMessage =
  | { type: 'ready'; name: string; batchable: boolean }
  | { type: 'failed'; error: string }
  | { type: 'done'; id: number; outcomes: ImageOutcome[]; decodeMs: number; inferMs: number }
  | { type: 'error'; id: number; error: string };
