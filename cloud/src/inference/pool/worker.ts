// An inference worker thread: builds its own model with the factory module
// it is given (ModelSpec), then decodes and infers the JPEGs it is sent, one
// batch at a time.
import { parentPort, workerData } from 'node:worker_threads';
import sharp from 'sharp';
import { createLogger } from '@frameline/shared';
import type { DecodedImage, PoseResult } from '../index.js';
import type { BuiltModel, ImageOutcome, ModelFactory, RunRequest, WorkerInit, WorkerMessage } from './protocol.js';

const init = workerData as WorkerInit;
const port = parentPort!;
const logger = createLogger({ level: init.logLevel, scope: `worker-${init.index}` });
// One libvips thread per worker: the pool already uses every core.
sharp.concurrency(1);

const post = (m: WorkerMessage) => port.postMessage(m);

async function main(): Promise<void> {
  let built: BuiltModel;
  try {
    const factory = (await import(init.model.module)) as ModelFactory;
    built = await factory.createModel(init.model.options, logger);
  } catch (err) {
    post({ type: 'failed', error: (err as Error).message });
    return;
  }
  const { model, decode } = built;
  port.on('message', (req: RunRequest | { type: 'close' }) => {
    if (req.type === 'close') {
      void model.close().finally(() => port.close());
      return;
    }
    run(req).then(post, (err: Error) => post({ type: 'error', id: req.id, error: err.message }));
  });
  post({ type: 'ready', name: model.name, batchable: model.batchable });

  async function run(req: RunRequest): Promise<WorkerMessage> {
    const t0 = performance.now();
    const outcomes: (ImageOutcome | undefined)[] = new Array(req.jpegs.length);
    const decodedAt: (DecodedImage | undefined)[] = await Promise.all(req.jpegs.map(async (bytes, i) => {
      try {
        return await decode(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), init.maxPixels);
      } catch (err) {
        outcomes[i] = { ok: false, error: `${(err as { code?: string }).code ?? 'undecodable-jpeg'}: ${(err as Error).message}` };
        return undefined;
      }
    }));
    const slots = decodedAt.flatMap((img, i) => (img ? [i] : []));
    const decoded = slots.map((i) => decodedAt[i]!);
    const t1 = performance.now();
    const results: PoseResult[] = [];
    const hints = req.hints ? slots.map((i) => req.hints![i]) : undefined;
    if (model.batchable && decoded.length > 0) results.push(...(await model.infer(decoded, hints)));
    else for (const [k, image] of decoded.entries()) results.push(...(await model.infer([image], hints && [hints[k]])));
    results.forEach((result, k) => {
      const img = decoded[k]!;
      outcomes[slots[k]!] = { ok: true, result, width: img.width, height: img.height };
    });
    return { type: 'done', id: req.id, outcomes: outcomes as ImageOutcome[], decodeMs: t1 - t0, inferMs: performance.now() - t1 };
  }
}

void main();
