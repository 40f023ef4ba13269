// The inference ceiling: a bare onnxruntime-node loop over already decoded
// frames, no Kafka, no scheduler, no publishing. The same models and the same
// multi-person steps as the service (cloud/src/inference's BlazePose: tiled
// detector + letterboxed frame, weighted NMS, ROI per person, landmarks per
// person), with the service's parallelism (one worker thread per core, one
// onnxruntime intra-op thread each) and its model defaults (maxPersons 8,
// minKeypointScore 0.3, detector on every frame). `batch` frames go through
// one infer() call, as the scheduler's cross-camera batches do.
import { cpus } from 'node:os';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

/** The pose model options every like-for-like row uses (the service's defaults with detectEvery 1). */
export const LIKE_FOR_LIKE_MODEL = (variant) => ({ kind: 'blazepose', variant, detector: { mode: 'tiled', minScore: 0.5 }, minVisibility: 0.3, maxPersons: 8, threads: 1 });

/**
 * Runs `workers` threads, each inferring all `jpegs` (decoded first, outside
 * the timing) in calls of `batch` frames, all starting together.
 * Returns frames/s over the wall time of the slowest worker, CPU ms per
 * frame, persons per frame, and ms per frame (call time ÷ batch) for every call.
 */
export async function benchCeiling({ jpegs, variant, batch, workers = cpus().length }) {
  const threads = Array.from({ length: workers }, () => new Worker(new URL(import.meta.url), { workerData: { jpegs, variant, batch } }));
  const ready = threads.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
  await Promise.all(ready);
  const done = threads.map((w) => new Promise((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (const w of threads) w.postMessage('go');
  const results = await Promise.all(done);
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  await Promise.all(threads.map((w) => w.terminate()));
  const frames = results.reduce((n, r) => n + r.frames, 0);
  const persons = results.flatMap((r) => r.persons);
  return {
    variant, batch, workers, frames, wallMs,
    framesPerSec: (frames * 1000) / wallMs,
    // the process's CPU time over the timed phase (all worker threads): robust to other load
    cpuMsPerFrame: (cpu.user + cpu.system) / 1000 / frames,
    personsPerFrame: persons.reduce((a, b) => a + b, 0) / persons.length,
    msPerFrame: results.flatMap((r) => r.msPerFrame),
  };
}

if (!isMainThread) {
  const { createLogger } = await import('@frameline/shared');
  const { createPoseModel, decodeJpeg } = await import('../cloud/dist/src/inference/index.js');
  const { jpegs, variant, batch } = workerData;
  const model = await createPoseModel(LIKE_FOR_LIKE_MODEL(variant), createLogger({ level: 'warn' }));
  const images = [];
  for (const j of jpegs) images.push(await decodeJpeg(Buffer.from(j)));
  parentPort.postMessage('ready');
  await new Promise((resolve) => parentPort.once('message', resolve));
  const msPerFrame = [];
  const persons = [];
  for (let i = 0; i < images.length; i += batch) {
    const chunk = images.slice(i, i + batch);
    const t = performance.now();
    const results = await model.infer(chunk);
    const ms = (performance.now() - t) / chunk.length;
    for (const r of results) { msPerFrame.push(ms); persons.push(r.persons.length); }
  }
  await model.close();
  parentPort.postMessage({ frames: images.length, msPerFrame, persons });
}
