// Detector on every frame vs MediaPipe-style tracking (next ROI from the
// previous landmarks, detector every Nth frame), in one process on the same
// frames: node bench/tracking.mjs [frames] [detectEvery] [stride] [detectIntervalMs] [sweepEvery]
// One camera of 768x576 vtest.mp4 frames (its first FRAMES) at 10 fps, every stride-th frame
// inferred. Prints inferred frames/s per CPU core (from the process's CPU
// time, so other load on the machine does not skew the ratio), CPU and wall
// ms per frame, and persons per inferred frame (also on the same frames).
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';
import { createPoseModel, decodeJpeg } from '../cloud/dist/src/inference/index.js';
import { createDetectionSchedule, DEFAULT_DETECTION_SCHEDULE as D } from '../cloud/dist/src/inference/tracking.js';
import { extractFrames } from './inference.mjs';

const FRAMES = Number(process.argv[2] ?? 60);
const DETECT_EVERY = Number(process.argv[3] ?? D.detectEvery);
const FPS = 10;
const STRIDE = Number(process.argv[4] ?? 2);
const INTERVAL_MS = Number(process.argv[5] ?? D.detectIntervalMs);
const SWEEP_EVERY = Number(process.argv[6] ?? D.sweepEvery);
const jpegs = await extractFrames(fileURLToPath(new URL('..', import.meta.url)), FRAMES);
const model = await createPoseModel({ kind: 'blazepose', variant: 'full', detector: { mode: 'tiled' }, threads: 1 }, createLogger({ level: 'warn' }));

/**
 * Infers every STRIDE-th frame in order (the service at about 10/STRIDE
 * inferred frames/s of a 10 fps camera). Reports CPU time per frame as well
 * as wall time: on a shared machine the CPU time is what compares.
 */
async function play(tracking) {
  const schedule = createDetectionSchedule({ ...D, detectEvery: tracking ? DETECT_EVERY : 1, detectIntervalMs: INTERVAL_MS, sweepEvery: SWEEP_EVERY });
  let persons = 0;
  let wallMs = 0;
  let cpuMs = 0;
  const perSeq = new Map();
  for (let seq = 0; seq < jpegs.length; seq += STRIDE) {
    const capturedAt = (seq * 1000) / FPS;
    const image = await decodeJpeg(jpegs[seq]);
    const hint = schedule.hint('CAMERA-1', 'bench', capturedAt);
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const [result] = await model.infer([image], [hint]);
    wallMs += performance.now() - t0;
    const c = process.cpuUsage(c0);
    cpuMs += (c.user + c.system) / 1000;
    schedule.observe('CAMERA-1', 'bench', capturedAt, result);
    persons += result.persons.length;
    perSeq.set(seq, result.persons.length);
    if (process.env.BENCH_TRACE) console.error(`${tracking ? 'after ' : 'before'} seq ${seq} detect ${hint.detect} sweep ${hint.sweep ?? '-'} search ${hint.search?.length ?? 0} rois ${hint.rois.length} -> persons ${result.persons.length} boxes ${result.persons.map((p) => p.box.map(Math.round).join(',')).join(' | ')}`);
  }
  const n = perSeq.size;
  return { inferred: n, fps: (n * 1000) / cpuMs, msPerFrame: cpuMs / n, wallMsPerFrame: wallMs / n, personsPerFrame: persons / n, counts: schedule.counts(), perSeq };
}

const before = await play(false);
const after = await play(true);
// persons on the same frames, where both modes inferred one
const common = [...after.perSeq.keys()].filter((s) => before.perSeq.has(s));
const sum = (m) => common.reduce((n, s) => n + m.perSeq.get(s), 0);
await model.close();
const row = (name, r) => `${name.padEnd(34)} ${r.fps.toFixed(2).padStart(6)} frames/s per core  ${r.msPerFrame.toFixed(0).padStart(5)} CPU ms/frame (${r.wallMsPerFrame.toFixed(0)} wall)  ${r.personsPerFrame.toFixed(2)} persons/frame  (${r.inferred} frames inferred, detector on ${r.counts.detected})`;
console.log(`vtest.mp4 from 0 s, ${FRAMES} frames at ${FPS} fps, every ${STRIDE}. inferred, one camera, BlazePose full, tiled detector, 1 thread`);
console.log(row('detector on every frame', before));
console.log(row(`tracking, detector every ${DETECT_EVERY} / ${INTERVAL_MS / 1000} s`, after));
console.log(`speed-up ${(after.fps / before.fps).toFixed(2)}x; on the ${common.length} frames both inferred: ${sum(before)} persons before, ${sum(after)} after`);
