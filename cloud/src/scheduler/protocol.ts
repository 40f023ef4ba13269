// Messages between the pool (main thread) and an inference worker.
import type { ModelOptions } from '../config.js';
import type { PoseResult, TrackingHint } from './model.js';

export interface WorkerInit {
  model: ModelOptions;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  index: number;
}

export interface RunRequest {
  type: 'run';
  id: number;
  jpegs: Uint8Array[];
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
