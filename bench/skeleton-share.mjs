// Share of visible people that get a skeleton, against hand-read truth
// (cloud/test/fixtures/vtest-visible.json: 12 frames of the 10 s of vtest.mp4
// the benches play), with the detector on every frame and with tracking:
//   node bench/skeleton-share.mjs [stride] [variant]
// Both modes play the same frames in capture order at 10 fps: every stride-th
// frame (the service reaches about every 5th of a 10 fps camera on 2 cores)
// plus the truth frames, so every truth frame is inferred in both modes.
// Match rule: a truth person gets a skeleton when a person's box has IoU >= 0.3
// with its box; one skeleton per truth person, best IoU first. A skeleton
// matching no truth person (nor an `ignore` box) is a false skeleton, so a
// second skeleton on one body counts as false.
// Also `benchSkeletonShare` for bench/run.mjs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';
import { iou } from '../cloud/dist/src/inference/box.js';

export const TRUTH_FILE = 'cloud/test/fixtures/vtest-visible.json';
export const MIN_IOU = 0.3;

/** The service's default model settings (cloud/src/config.ts model.*): BlazePose with the tiled (multi) detector, 1 thread (the demo runs variant lite). */
const MODEL = { kind: 'blazepose', detector: { mode: 'tiled', minScore: 0.5 }, minVisibility: 0.3, maxPersons: 8, threads: 1 };

/**
 * Scores one frame. `truth`: { persons: [{ label, box, partial? }], ignore?: [{ label, box }] };
 * `boxes`: the inferred persons' [x, y, w, h]. Pairs with IoU >= MIN_IOU are matched
 * greedily, highest IoU first, one to one. Returns counts and the missed truth labels.
 */
export function scoreFrame(truth, boxes) {
  const pairs = [];
  truth.persons.forEach((t, ti) => boxes.forEach((b, bi) => {
    const v = iou(t.box, b);
    if (v >= MIN_IOU) pairs.push({ ti, bi, v });
  }));
  pairs.sort((a, b) => b.v - a.v);
  const hit = new Set();
  const used = new Set();
  for (const { ti, bi } of pairs) {
    if (hit.has(ti) || used.has(bi)) continue;
    hit.add(ti);
    used.add(bi);
  }
  const left = boxes.filter((_, bi) => !used.has(bi));
  const ignored = left.filter((b) => (truth.ignore ?? []).some((g) => iou(g.box, b) >= MIN_IOU)).length;
  const whole = truth.persons.map((t, ti) => ({ t, ti })).filter(({ t }) => !t.partial);
  return {
    visible: truth.persons.length,
    matched: hit.size,
    wholeVisible: whole.length,
    wholeMatched: whole.filter(({ ti }) => hit.has(ti)).length,
    falseSkeletons: left.length - ignored,
    ignored,
    missed: truth.persons.filter((_, ti) => !hit.has(ti)).map((t) => t.label),
  };
}

/** Sums frame scores; `share` and `wholeShare` are 0..1. */
function total(scores) {
  const sum = (k) => scores.reduce((n, s) => n + s[k], 0);
  const r = { visible: sum('visible'), matched: sum('matched'), wholeVisible: sum('wholeVisible'), wholeMatched: sum('wholeMatched'), falseSkeletons: sum('falseSkeletons'), ignored: sum('ignored') };
  return { ...r, share: r.matched / r.visible, wholeShare: r.wholeMatched / r.wholeVisible };
}

/** Plays `seqs` of `jpegs` in order through `model` with a detection schedule; resolves to the boxes per seq and the schedule's counts. */
async function play(model, jpegs, seqs, options) {
  const { createDetectionSchedule } = await import('../cloud/dist/src/inference/tracking.js');
  const { decodeJpeg } = await import('../cloud/dist/src/inference/index.js');
  const schedule = createDetectionSchedule(options);
  const boxes = new Map();
  for (const seq of seqs) {
    const capturedAt = seq * 100;
    const image = await decodeJpeg(jpegs[seq]);
    const [result] = await model.infer([image], [schedule.hint('CAMERA-1', 'skeleton-share', capturedAt)]);
    schedule.observe('CAMERA-1', 'skeleton-share', capturedAt, result);
    boxes.set(seq, result.persons.map((p) => p.box));
  }
  return { boxes, counts: schedule.counts() };
}

/**
 * Runs the pose model (BlazePose `variant`: lite | full | heavy) over the truth frames in each mode ('detector': the
 * detector on every inferred frame; 'tracking': the default detection
 * schedule, or DEFAULT_DETECTION_SCHEDULE merged with `schedule`). Resolves to
 * { truth: { frames, visible, whole }, seqs, rows: [{ mode, inferred, detected,
 * visible, matched, share, wholeVisible, wholeMatched, wholeShare,
 * falseSkeletons, ignored, missed: [{ seq, label }] }], lines } (lines: the printout).
 * Needs the built cloud (npx tsc -b) and ffmpeg.
 */
export async function benchSkeletonShare({ root, stride = 5, variant = 'full', modes = ['detector', 'tracking'], schedule = {} }) {
  const { DEFAULT_DETECTION_SCHEDULE } = await import('../cloud/dist/src/inference/tracking.js');
  const { createPoseModel } = await import('../cloud/dist/src/inference/index.js');
  const { extractFrames } = await import('./inference.mjs');
  const truth = JSON.parse(readFileSync(join(root, TRUTH_FILE), 'utf8'));
  const truthSeqs = Object.keys(truth.frames).map(Number).sort((a, b) => a - b);
  const last = truthSeqs[truthSeqs.length - 1];
  const seqs = [...new Set([...Array.from({ length: Math.floor(last / stride) + 1 }, (_, i) => i * stride), ...truthSeqs])].sort((a, b) => a - b);
  const jpegs = await extractFrames(root, last + 1);
  const tracking = { ...DEFAULT_DETECTION_SCHEDULE, ...schedule };
  const model = await createPoseModel({ ...MODEL, variant }, createLogger({ level: 'warn' }));
  const rows = [];
  try {
    for (const mode of modes) {
      const played = await play(model, jpegs, seqs, mode === 'detector' ? { ...tracking, detectEvery: 1 } : tracking);
      const scores = truthSeqs.map((seq) => ({ seq, ...scoreFrame(truth.frames[seq], played.boxes.get(seq)) }));
      rows.push({ mode, inferred: seqs.length, detected: played.counts.detected, ...total(scores), missed: scores.flatMap((s) => s.missed.map((label) => ({ seq: s.seq, label }))) });
    }
  } finally {
    await model.close();
  }
  const all = truthSeqs.flatMap((s) => truth.frames[s].persons);
  const whole = all.filter((p) => !p.partial).length;
  const pct = (x) => `${(100 * x).toFixed(1)} %`;
  const name = { detector: 'detector on every frame', tracking: `tracking (detector every ${tracking.detectEvery} / ${tracking.detectIntervalMs / 1000} s, sweep ${tracking.sweepEvery})` };
  const lines = [
    `vtest.mp4 frames 0-${last} at 10 fps, ${truthSeqs.length} hand-read frames (${TRUTH_FILE}): ${all.length} visible people (${whole} whole, ${all.length - whole} partial); ` +
      `every ${stride}. frame + the truth frames inferred (${seqs.length} frames), BlazePose ${variant}, tiled detector, 1 thread; a person gets a skeleton when a skeleton's box has IoU >= ${MIN_IOU} with theirs (one each)`,
    ...rows.flatMap((r) => [
      `${(name[r.mode] ?? r.mode).padEnd(44)} ${r.matched}/${r.visible} visible people with a skeleton (${pct(r.share)}), whole ${r.wholeMatched}/${r.wholeVisible} (${pct(r.wholeShare)}), ` +
        `partial ${r.matched - r.wholeMatched}/${r.visible - r.wholeVisible}; ${r.falseSkeletons} false skeletons (${r.ignored} on ignored shapes); full detector on ${r.detected} of ${r.inferred} frames`,
      `${''.padEnd(44)} missed: ${r.missed.map((m) => `${m.seq}: ${m.label.split(':')[0]}`).join('; ') || 'none'}`,
    ]),
  ];
  return { truth: { frames: truthSeqs.length, visible: all.length, whole }, seqs, rows, lines };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const stride = Number(process.argv[2]) || 5;
  const r = await benchSkeletonShare({ root: fileURLToPath(new URL('..', import.meta.url)), stride, variant: process.argv[3] || 'full' });
  console.log(r.lines.join('\n'));
}
