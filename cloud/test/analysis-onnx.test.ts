/**
 * The ONNX temporal model adapter with a tiny model built here: it takes the
 * [T, P, 33, 3] window and answers, per person slot, the mean visibility
 * channel; the adapter reads the first element (the track itself). So the
 * test sees the input layout (x, y, visibility per landmark, track first,
 * neighbours matched by frame) and the threshold, through real onnxruntime.
 * Also: the alert snapshot is a small real JPEG with the skeletons drawn.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { createTracker } from '../src/analysis/tracker.js';
import { createTemporalModelDetector, trackWindow } from '../src/analysis/temporal-model.js';
import { BLAZEPOSE_KEYPOINTS, type Person } from '../src/inference/index.js';
import { DataType, encodeModel } from '@frameline/onnx-convert';
import { renderSnapshot } from '../src/publish/alerts.js';
import { at, feetOf, FRAME, jitter, person, realStandingPose, transform, vtestRecords } from './analysis-support.js';

const T = 4;
const P = 2;
const K = 33;
const floats = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** score[p] = mean over frames and landmarks of the visibility channel of person slot p */
function tinyTemporalModel(): Uint8Array {
  return encodeModel({
    graphName: 'tiny_temporal',
    opset: 13,
    producer: 'frameline-test',
    docString: 'mean visibility per person slot',
    inputs: [{ name: 'window', elemType: DataType.FLOAT, dims: [T, P, K, 3] }],
    outputs: [{ name: 'score', elemType: DataType.FLOAT, dims: [P] }],
    initializers: [{ name: 'vis3', dataType: DataType.FLOAT, dims: [1, 1, 1, 3], raw: floats([0, 0, 3]) }],
    nodes: [
      { op: 'Mul', inputs: ['window', 'vis3'], outputs: ['v'], name: 'mask' },
      { op: 'ReduceMean', inputs: ['v'], outputs: ['score'], name: 'mean', attrs: { axes: [0, 2, 3], keepdims: 0 } },
    ],
  });
}

const withVisibility = (p: Person, v: number): Person => person(p.keypoints.map((k) => ({ ...k, visibility: v })));

test('temporal model window: [T, P, 33, 3] of x, y, visibility; the track first, its nearest neighbour matched by frame', () => {
  const base = realStandingPose();
  const f = feetOf(base);
  const tracker = createTracker({ maxMissedMs: 2000, minSimilarity: 0.2, windowMs: 10_000, maxSamples: 100 });
  for (let seq = 0; seq < 6; seq++) {
    const persons = [transform(base, 0, f, 0, 0), transform(base, 0, f, 40, 0), transform(base, 0, f, 300, 0)];
    // the neighbour is missing in frame 4
    tracker.update({ seq, capturedAt: at(seq, 5), persons: seq === 4 ? [persons[0]!, persons[2]!] : persons });
  }
  const [me, near, far] = tracker.tracks();
  const w = trackWindow(me!, tracker.tracks(), T, P);
  assert.equal(w.length, T * P * K * 3);
  const get = (t: number, p: number, name: string) => {
    const i = ((t * P + p) * K + BLAZEPOSE_KEYPOINTS.indexOf(name)) * 3;
    return [w[i]!, w[i + 1]!, w[i + 2]!];
  };
  const nose = me!.samples.at(-1)!.keypoints.find((k) => k.name === 'nose')!;
  assert.deepEqual(get(T - 1, 0, 'nose').map((v) => Math.round(v * 10) / 10), [nose.x, nose.y, nose.visibility].map((v) => Math.round(v * 10) / 10));
  const nearNose = near!.samples.at(-1)!.keypoints.find((k) => k.name === 'nose')!;
  assert.ok(Math.abs(get(T - 1, 1, 'nose')[0]! - nearNose.x) < 0.01, 'slot 1 is the nearest track, not the far one');
  assert.deepEqual(get(T - 2, 1, 'nose'), [0, 0, 0], 'frame 4 lacks the neighbour: zeros');
  assert.ok(far);
});

test('temporal model detector: runs the user ONNX model per track window and raises at its threshold', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-temporal-'));
  try {
    const path = join(dir, 'tiny_temporal.onnx');
    await writeFile(path, tinyTemporalModel());
    const detector = await createTemporalModelDetector({ path, kind: 'violence', frames: T, persons: P, threshold: 0.8, every: 1 });
    const base = realStandingPose();
    const tracker = createTracker({ maxMissedMs: 2000, minSimilarity: 0.2, windowMs: 10_000, maxSamples: 100 });
    const found: { seq: number; score: number; startSeq: number }[] = [];
    for (let seq = 0; seq < 12; seq++) {
      // clearly visible for 8 frames, then half hidden
      const p = withVisibility(jitter(base, seq), seq < 8 ? 0.95 : 0.5);
      tracker.update({ seq, capturedAt: at(seq, 5), persons: [p] });
      const frame = { camera: 'CAMERA-1', run: 'r', seq, capturedAt: at(seq, 5), ...FRAME };
      for (const d of await detector.update(tracker.tracks(), frame)) found.push({ seq, score: d.score, startSeq: d.startSeq });
    }
    await detector.close!();
    // windows of T = 4 frames exist from seq 3; from seq 8 the mean visibility drops below 0.8 (0.95,0.95,0.95,0.5 -> 0.84 at 8; 0.73 at 9)
    assert.deepEqual(found.map((x) => x.seq), [3, 4, 5, 6, 7, 8]);
    assert.ok(Math.abs(found[0]!.score - 0.95) < 1e-3, `score ${found[0]!.score}`);
    assert.deepEqual(found.map((x) => x.startSeq), [0, 1, 2, 3, 4, 5], 'an event starts with the first frame of its window');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('temporal model detector: a model file that is not ONNX names the key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-temporal-'));
  try {
    await writeFile(join(dir, 'bad.onnx'), 'not a model');
    await assert.rejects(createTemporalModelDetector({ path: join(dir, 'bad.onnx'), kind: 'violence', frames: T, persons: P, threshold: 0.8, every: 1 }), /analysis\.temporalModel\.path/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('alert snapshot: the real CCTV frame scaled to 256 px (the default) with the skeletons drawn, a few KB of JPEG', async () => {
  const jpeg = readFileSync(new URL('../../test/fixtures/vtest_frame.jpg', import.meta.url));
  const meta = await sharp(jpeg).metadata();
  const persons = vtestRecords()[0]!.persons.map((p) => ({
    ...p,
    box: p.box.map((v) => v * (meta.width! / FRAME.width)) as Person['box'],
    keypoints: p.keypoints.map((k) => ({ ...k, x: (k.x * meta.width!) / FRAME.width, y: (k.y * meta.height!) / FRAME.height })),
  }));
  const plain = await renderSnapshot(jpeg, [], 256, 50);
  const snap = await renderSnapshot(jpeg, persons, 256, 50);
  const bytes = Buffer.from(snap.base64, 'base64');
  console.log(`snapshot ${snap.width}x${snap.height}: ${bytes.length} bytes`);
  assert.equal(snap.width, 256);
  assert.ok(bytes.length > 1000 && bytes.length < 12_000, `${bytes.length} bytes`);
  const decoded = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  assert.equal(decoded.info.width, 256);
  // the drawn skeletons change pixels compared with the plain scaled frame
  const plainPixels = await sharp(Buffer.from(plain.base64, 'base64')).raw().toBuffer();
  let changed = 0;
  for (let i = 0; i < plainPixels.length; i += 3) if (Math.abs(plainPixels[i]! - decoded.data[i]!) + Math.abs(plainPixels[i + 1]! - decoded.data[i + 1]!) > 120) changed++;
  assert.ok(changed > 200, `only ${changed} pixels differ: no skeleton drawn`);
});
