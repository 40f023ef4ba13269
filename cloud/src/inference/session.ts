/** onnxruntime-node sessions built from typed options, checked and warmed up at start. */
import { access } from 'node:fs/promises';
import type { Logger } from '@frameline/shared';
import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  modelPath: string;
  /** onnxruntime execution providers in order of preference; default ['cpu']. */
  executionProviders?: string[];
  /** Threads inside one operator; 0 or absent lets onnxruntime pick (one per core). */
  intraOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /** Run once on zeros at start so the first real frame does not pay for allocation. Default true. */
  warmUp?: boolean;
  /** Input shape without the batch dimension; needed only when the model leaves those dims symbolic. */
  itemShape?: number[];
}

export interface ModelSession {
  session: ort.InferenceSession;
  inputName: string;
  /** Input shape of one batch item (the batch dimension left out). */
  itemShape: number[];
  run(input: Float32Array, batch: number): Promise<Record<string, Float32Array>>;
  close(): Promise<void>;
}

/** The model file is absent; retrying will not help until someone builds it. */
export class ModelFileMissingError extends Error {
  readonly retriable = false;
  constructor(readonly modelPath: string, hint: string) {
    super(`model file ${modelPath} not found: ${hint}`);
    this.name = 'ModelFileMissingError';
  }
}

const CONVERT_HINT = 'run `npx tsc -b tools/onnx-convert && node tools/onnx-convert/scripts/convert-models.mjs` to build the BlazePose models';

export async function createSession(options: SessionOptions, logger: Logger, hint = CONVERT_HINT): Promise<ModelSession> {
  try {
    await access(options.modelPath);
  } catch {
    throw new ModelFileMissingError(options.modelPath, hint);
  }
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(options.modelPath, {
    executionProviders: options.executionProviders ?? ['cpu'],
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    ...(options.intraOpNumThreads ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
  });
  const meta = session.inputMetadata[0];
  if (!meta || !meta.isTensor || session.inputNames.length !== 1) {
    await session.release();
    throw new Error(`model ${options.modelPath}: expected exactly one tensor input, got ${session.inputNames.join(', ')}`);
  }
  const inputName = meta.name;
  const itemShape = options.itemShape ?? meta.shape.slice(1).map((d) => (typeof d === 'number' && d > 0 ? d : -1));
  if (itemShape.some((d) => d <= 0)) {
    await session.release();
    throw new Error(`model ${options.modelPath}: input ${inputName} has symbolic dims ${JSON.stringify(meta.shape)}; set its input size in the model config`);
  }
  const perItem = itemShape.reduce((a, b) => a * b, 1);

  const run = async (input: Float32Array, batch: number): Promise<Record<string, Float32Array>> => {
    const tensor = new ort.Tensor('float32', input, [batch, ...itemShape]);
    const out = await session.run({ [inputName]: tensor });
    const result: Record<string, Float32Array> = {};
    for (const [name, value] of Object.entries(out)) {
      if (value.type === 'float32') result[name] = value.data as Float32Array;
    }
    return result;
  };

  if (options.warmUp ?? true) await run(new Float32Array(perItem), 1);
  logger.info('model loaded', {
    model: options.modelPath,
    input: inputName,
    shape: itemShape,
    providers: options.executionProviders ?? ['cpu'],
    ms: Math.round(performance.now() - t0),
  });
  return { session, inputName, itemShape, run, close: () => session.release() };
}
