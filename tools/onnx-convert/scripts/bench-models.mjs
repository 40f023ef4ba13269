#!/usr/bin/env node
// Latency of the converted models with onnxruntime-node (CPU), plus their
// max abs difference from the LiteRT reference fixtures. Not a test: run
// after convert-models.mjs:
//
//   node tools/onnx-convert/scripts/bench-models.mjs [--runs N] [--threads T] [--out DIR]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';

import { TOOL_DIR, outputDir } from './build-info.mjs';

const fixtures = join(TOOL_DIR, 'test', 'fixtures');
const modelsDir = outputDir(process.argv);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('--runs', 20);
const THREADS = arg('--threads', 0); // 0: onnxruntime's default (one per core)

const MODELS = [
  { name: 'pose_detection', kind: 'detector', image: 'vtest_224.png' },
  { name: 'pose_landmark_lite', kind: 'landmark', image: 'vtest_person_256.png' },
  { name: 'pose_landmark_full', kind: 'landmark', image: 'vtest_person_256.png' },
  { name: 'pose_landmark_heavy', kind: 'landmark', image: 'vtest_person_256.png' },
];

async function input(image, kind, batch) {
  const { data, info } = await sharp(join(fixtures, image)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const one = Float32Array.from(data, (v) => (kind === 'detector' ? Math.fround(Math.fround(v / 127.5) - 1) : Math.fround(v / 255)));
  const x = new Float32Array(one.length * batch);
  for (let b = 0; b < batch; b++) x.set(one, b * one.length);
  return new ort.Tensor('float32', x, [batch, info.height, info.width, 3]);
}

function maxAbsDiff(refOut, ours) {
  const stride = refOut.sampleStride ?? 1;
  const want = refOut.values ?? refOut.samples;
  let worst = 0;
  want.forEach((w, k) => (worst = Math.max(worst, Math.abs(w - ours[k * stride]))));
  return worst;
}

async function timeRuns(session, feeds) {
  await session.run(feeds); // warm-up
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], p90: times[Math.floor(times.length * 0.9)] };
}

const opts = THREADS > 0 ? { intraOpNumThreads: THREADS } : {};
for (const m of MODELS) {
  const session = await ort.InferenceSession.create(join(modelsDir, `${m.name}.onnx`), opts);
  const feeds = { input_1: await input(m.image, m.kind, 1) };
  const out = await session.run(feeds);
  const ref = JSON.parse(readFileSync(join(fixtures, `ref_${m.name}__${m.image.replace('.png', '')}.json`), 'utf8'));
  const diffs = Object.entries(ref.outputs).map(([k, r]) => `${k} ${maxAbsDiff(r, out[k].data).toExponential(1)}`);
  const t1 = await timeRuns(session, feeds);
  let batchNote = '';
  if (m.kind === 'landmark') {
    const t4 = await timeRuns(session, { input_1: await input(m.image, m.kind, 4) });
    batchNote = `, batch 4: ${t4.median.toFixed(1)} ms (${(t4.median / 4).toFixed(1)} ms/crop)`;
  }
  console.log(`${m.name}: median ${t1.median.toFixed(1)} ms, p90 ${t1.p90.toFixed(1)} ms${batchNote}`);
  console.log(`  max |onnx - tflite| on ${m.image}: ${diffs.join(', ')}`);
}
