// Detector on every frame vs pose tracking (next ROI from the previous
// landmarks moved by the track's velocity, full detector every Nth frame, one
// frame-edge region per tracked frame), in one process on the same frames:
//   node bench/tracking.mjs [frames] [detectEvery] [stride] [detectIntervalMs] [sweepEvery]
// BENCH_TRACKING_WORKERS=2 sends the frames round two models in turn, as the
// service's two workers take one camera's frames (each keeps its own motion grid).
// One camera of 768x576 vtest.mp4 frames (its first FRAMES) at 10 fps, every
// stride-th frame inferred. Prints inferred frames/s per CPU core (from the
// process's CPU time, so other load on the machine does not skew the ratio),
// CPU and wall ms per frame, and persons per inferred frame, also on the same
// frames: how many of the detector-every-frame persons tracking found too
// (box IoU > 0.3) and how many it found that the detector did not.
// Also `npm run bench -- --only=tracking` (benchTracking below).
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';
// the person stage's own box IoU (needs the built cloud, as everything here does)
import { iou } from '../cloud/dist/src/inference/box.js';


/** Persons of `a` with a box of `b` overlapping by IoU > 0.3 (each box of b used once). */
function matched(a, b) {
  const free = [...b];
  return a.filter((p) => {
    const k = free.findIndex((q) => iou(p, q) > 0.3);
    if (k >= 0) free.splice(k, 1);
    return k >= 0;
  }).length;
}

/**
 * Plays `jpegs` (10 fps) through `model`, every `stride`-th frame in order,
 * with the schedule `options`. CPU time per frame is what compares on a shared machine.
 */
async function play(models, jpegs, stride, options, trace) {
  const { createDetectionSchedule } = await import('../cloud/dist/src/inference/tracking.js');
  const { decodeJpeg } = await import('../cloud/dist/src/inference/index.js');
  const schedule = createDetectionSchedule(options);
  let wallMs = 0;
  let cpuMs = 0;
  const boxes = new Map();
  const stages = { decodeMs: 0, detectMs: 0, landmarksMs: 0 };
  for (let seq = 0; seq < jpegs.length; seq += stride) {
    const capturedAt = seq * 100;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const image = await decodeJpeg(jpegs[seq]);
    stages.decodeMs += performance.now() - t0;
    const hint = schedule.hint('CAMERA-1', 'bench', capturedAt);
    // several models: frames go round them as the service's workers take a camera's frames in turn
    const [result] = await models[boxes.size % models.length].infer([image], [hint]);
    wallMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpuMs += (c.user + c.system) / 1000;
    stages.detectMs += result.timings.detectMs;
    stages.landmarksMs += result.timings.landmarksMs;
    schedule.observe('CAMERA-1', 'bench', capturedAt, result);
    boxes.set(seq, result.persons.map((p) => p.box));
    if (trace) {
      const roi = (r) => `#${r.track ?? '-'}(${Math.round(r.cx)},${Math.round(r.cy)} s${Math.round(r.side)})`;
      console.error(`${trace} seq ${seq} detect ${hint.detect} sweep ${hint.sweep ?? '-'} search ${(hint.search ?? []).map(roi).join(' ')} rois ${hint.rois.map(roi).join(' ')}`);
      console.error(`${''.padEnd(trace.length)}   -> ${result.persons.map((p, i) => `${roi(result.rois?.[i] ?? {})} ${p.box.map(Math.round).join(',')} p${p.score.toFixed(2)}`).join(' | ')}`);
    }
  }
  const n = boxes.size;
  const persons = [...boxes.values()].reduce((s, b) => s + b.length, 0);
  for (const k of Object.keys(stages)) stages[k] /= n;
  return { stages, inferred: n, fps: (n * 1000) / cpuMs, msPerFrame: cpuMs / n, wallMsPerFrame: wallMs / n, personsPerFrame: persons / n, persons, counts: schedule.counts(), boxes };
}

/**
 * Detector on every frame, then tracking, on the same frames in one process
 * (BlazePose full, tiled detector, 1 thread). Resolves to both rows, the
 * speed-up (CPU time ratio) and the person counts; `lines` is the printout.
 */
export async function benchTracking({ root, frames = 60, stride = 2, schedule = {}, trace = false, workers = 1 }) {
  const { DEFAULT_DETECTION_SCHEDULE } = await import('../cloud/dist/src/inference/tracking.js');
  const { createPoseModel } = await import('../cloud/dist/src/inference/index.js');
  const { extractFrames } = await import('./inference.mjs');
  const options = { ...DEFAULT_DETECTION_SCHEDULE, ...schedule };
  const jpegs = await extractFrames(root, frames);
  const models = await Promise.all(Array.from({ length: workers }, () => createPoseModel({ kind: 'blazepose', variant: 'full', detector: { mode: 'tiled' }, threads: 1 }, createLogger({ level: 'warn' }))));
  try {
    const before = await play(models, jpegs, stride, { ...options, detectEvery: 1 }, trace && 'before');
    const after = await play(models, jpegs, stride, options, trace && 'after ');
    const seqs = [...before.boxes.keys()];
    const found = seqs.reduce((n, s) => n + matched(before.boxes.get(s), after.boxes.get(s)), 0);
    const speedUp = after.fps / before.fps;
    const row = (name, r) => `${name.padEnd(44)} ${r.fps.toFixed(2).padStart(6)} frames/s per core ${r.msPerFrame.toFixed(0).padStart(5)} CPU ms/frame (${r.wallMsPerFrame.toFixed(0)} wall)  ${r.personsPerFrame.toFixed(2)} persons/frame  (${r.inferred} frames, full detector on ${r.counts.detected}); wall ms/frame decode ${r.stages.decodeMs.toFixed(0)} detect ${r.stages.detectMs.toFixed(0)} landmarks ${r.stages.landmarksMs.toFixed(0)}`;
    const lines = [
      `vtest.mp4 from 0 s, ${frames} frames at 10 fps, every ${stride}. inferred, one camera, BlazePose full, tiled detector, 1 thread` +
        (workers > 1 ? `, frames going round ${workers} models (the service's workers)` : ''),
      row('detector on every frame', before),
      row(`tracking (detector every ${options.detectEvery} / ${options.detectIntervalMs / 1000} s, sweep ${options.sweepEvery})`, after),
      `speed-up ${speedUp.toFixed(2)}x; on the same ${seqs.length} frames: ${before.persons} persons with the detector on every frame, ${after.persons} with tracking; ` +
        `${found} of the detector's persons found by tracking too, ${after.persons - found} found by tracking only; tracks dropped for low presence ${after.counts.dropped}, lost ${after.counts.lost}`,
    ];
    return { before, after, speedUp, found, lines };
  } finally {
    await Promise.all(models.map((m) => m.close()));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [frames, detectEvery, stride, detectIntervalMs, sweepEvery] = process.argv.slice(2).map(Number);
  const schedule = Object.fromEntries(Object.entries({ detectEvery, detectIntervalMs, sweepEvery }).filter(([, v]) => Number.isFinite(v)));
  const r = await benchTracking({ root: fileURLToPath(new URL('..', import.meta.url)), frames: frames || 60, stride: stride || 2, schedule, trace: Boolean(process.env.BENCH_TRACE), workers: Number(process.env.BENCH_TRACKING_WORKERS ?? 1) });
  console.log(r.lines.join('\n'));
}
