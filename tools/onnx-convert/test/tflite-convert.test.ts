/// <reference types="node" />
/**
 * The project's TFLite → ONNX converter against the original models: each
 * BlazePose model from @mediapipe/pose is converted in memory, run with
 * onnxruntime-node on real images, and compared with the outputs the official
 * LiteRT interpreter produced for the same input tensors
 * (tools/onnx-convert/scripts/reference_outputs.py → fixtures/ref_*.json).
 *
 * The input PNGs are exactly the model input size, so both sides decode the
 * same RGB bytes losslessly and apply the same float32 normalisation.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { convertTflite, extractPackedFile } from '../src/index.js';
import { maxAbsDiff, type OutputRef } from './reference.js';

const here = dirname(fileURLToPath(import.meta.url));
// Compiled to tools/onnx-convert/dist/test; fixtures stay in the source tree.
const toolDir = join(here, '..', '..');
const fixtures = join(toolDir, 'test', 'fixtures');
const poseDir = dirname(createRequire(join(toolDir, 'package.json')).resolve('@mediapipe/pose/package.json'));

type Kind = 'detector' | 'landmark';

interface Reference {
  outputs: Record<string, OutputRef>;
  topAnchors?: { anchor: number; score: number; box: number[] }[];
}

function loadTflite(model: string): Uint8Array {
  if (model === 'pose_detection') {
    const loader = readFileSync(join(poseDir, 'pose_solution_packed_assets_loader.js'), 'utf8');
    return extractPackedFile(loader, readFileSync(join(poseDir, 'pose_solution_packed_assets.data')), 'pose_detection.tflite');
  }
  return readFileSync(join(poseDir, `${model}.tflite`));
}

/** NHWC float32 input, normalised exactly like reference_outputs.py (float32 arithmetic). */
async function loadInput(image: string, kind: Kind): Promise<ort.Tensor> {
  const { data, info } = await sharp(join(fixtures, image)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const x = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    x[i] = kind === 'detector' ? Math.fround(Math.fround(data[i]! / 127.5) - 1) : Math.fround(data[i]! / 255);
  }
  return new ort.Tensor('float32', x, [1, info.height, info.width, 3]);
}

function reference(model: string, image: string): Reference {
  const stem = image.replace(/\.png$/, '');
  return JSON.parse(readFileSync(join(fixtures, `ref_${model}__${stem}.json`), 'utf8')) as Reference;
}

/**
 * Max abs difference relative to the output's value range in the reference.
 * Range-relative, because the outputs mix pixel coordinates (hundreds),
 * logits and probabilities; float32 kernel differences (XNNPACK vs MLAS)
 * stay around 1e-5 of the range, while a layout or padding mistake moves
 * values by a sizeable fraction of it.
 */
function relError(ref: OutputRef, ours: Float32Array): number {
  // A single-valued output (the [1,1] presence score) has no range: use its magnitude.
  const range = Math.max(ref.max - ref.min, Math.abs(ref.max), Math.abs(ref.min), 1e-6);
  return maxAbsDiff(ref, ours) / range;
}

const REL_TOL = 1e-3;

const CASES: { model: string; kind: Kind; images: string[] }[] = [
  { model: 'pose_detection', kind: 'detector', images: ['astronaut_224.png', 'vtest_224.png'] },
  { model: 'pose_landmark_lite', kind: 'landmark', images: ['astronaut_256.png', 'vtest_person_256.png'] },
  { model: 'pose_landmark_full', kind: 'landmark', images: ['astronaut_256.png', 'vtest_person_256.png'] },
  { model: 'pose_landmark_heavy', kind: 'landmark', images: ['astronaut_256.png', 'vtest_person_256.png'] },
];

for (const { model, kind, images } of CASES) {
  describe(`${model}.tflite converted to ONNX`, () => {
    let session: ort.InferenceSession;

    test('converts and loads in onnxruntime with the TFLite interface', async () => {
      session = await ort.InferenceSession.create(convertTflite(loadTflite(model)));
      assert.deepEqual(session.inputNames, ['input_1']);
      const expected = Object.keys(reference(model, images[0]!).outputs).sort();
      assert.deepEqual([...session.outputNames].sort(), expected);
    });

    for (const image of images) {
      test(`matches LiteRT on ${image}`, async () => {
        const ref = reference(model, image);
        const out = await session.run({ input_1: await loadInput(image, kind) });
        for (const [name, r] of Object.entries(ref.outputs)) {
          const t = out[name];
          assert.ok(t, `missing output ${name}`);
          assert.deepEqual([...t.dims], r.shape, `${name} shape`);
          const err = relError(r, t.data as Float32Array);
          assert.ok(err < REL_TOL, `${name}: max abs diff is ${err.toExponential(2)} of the value range (limit ${REL_TOL})`);
        }
        if (kind === 'landmark') assertLandmarkPixels(ref, out);
        if (ref.topAnchors) assertTopAnchors(ref, out);
      });
    }
  });
}

/** Landmark x/y are pixels of the 256x256 input: require sub-0.05 px agreement. */
function assertLandmarkPixels(ref: Reference, out: ort.InferenceSession.OnnxValueMapType): void {
  const want = ref.outputs['Identity']?.values ?? [];
  const got = out['Identity']!.data as Float32Array;
  let worst = 0;
  for (let k = 0; k < 39; k++) {
    for (const c of [0, 1]) worst = Math.max(worst, Math.abs(want[k * 5 + c]! - got[k * 5 + c]!));
  }
  assert.ok(worst < 0.05, `landmark x/y differ by ${worst.toFixed(4)} px`);
}

/** The best-scoring anchors (the actual detections) must agree in score and all 12 box values. */
function assertTopAnchors(ref: Reference, out: ort.InferenceSession.OnnxValueMapType): void {
  const boxes = out['Identity']!.data as Float32Array;
  const scores = out['Identity_1']!.data as Float32Array;
  for (const a of ref.topAnchors ?? []) {
    assert.ok(Math.abs(scores[a.anchor]! - a.score) < 0.01, `anchor ${a.anchor} score ${scores[a.anchor]} vs ${a.score}`);
    a.box.forEach((v, i) => {
      const got = boxes[a.anchor * 12 + i]!;
      assert.ok(Math.abs(got - v) < 0.05, `anchor ${a.anchor} box[${i}] ${got} vs ${v} (224-px units)`);
    });
  }
  const best = ref.topAnchors?.[0];
  if (best) assert.equal(argmax(scores), best.anchor, 'best anchor differs');
}

function argmax(a: Float32Array): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[best]!) best = i;
  return best;
}

describe('converter behaviour', () => {
  test('batch dimension is dynamic: a batch of two equals two single runs', async () => {
    const session = await ort.InferenceSession.create(convertTflite(loadTflite('pose_landmark_lite')));
    const a = await loadInput('astronaut_256.png', 'landmark');
    const b = await loadInput('vtest_person_256.png', 'landmark');
    const batch = new Float32Array(a.data.length * 2);
    batch.set(a.data as Float32Array, 0);
    batch.set(b.data as Float32Array, a.data.length);
    const both = await session.run({ input_1: new ort.Tensor('float32', batch, [2, 256, 256, 3]) });
    const single = await session.run({ input_1: b });
    const got = (both['Identity']!.data as Float32Array).subarray(195);
    const want = single['Identity']!.data as Float32Array;
    for (let i = 0; i < 195; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-3, `batch row 1 value ${i}`);
    assert.deepEqual([...both['Identity_2']!.dims], [2, 256, 256, 1]);
  });

  test('rejects a file that is not TFLite', () => {
    assert.throws(() => convertTflite(new Uint8Array(64)), /not a TFLite model/);
  });

  test('names an unsupported op in its error', () => {
    const bytes = Uint8Array.from(loadTflite('pose_landmark_lite'));
    setFirstOpcode(bytes, 83); // PACK, which the converter does not handle
    assert.throws(() => convertTflite(bytes), /unsupported TFLite op: builtin op #83/);
  });
});

/**
 * Rewrites the builtin code of the model's first OperatorCode in place
 * (Model field 1 → vector of tables → field 3 int32, field 0 int8), walking
 * the FlatBuffer by hand so the test does not rely on the reader under test.
 */
function setFirstOpcode(bytes: Uint8Array, code: number): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const field = (table: number, id: number): number => {
    const vt = table - v.getInt32(table, true);
    const off = 4 + 2 * id < v.getUint16(vt, true) ? v.getUint16(vt + 4 + 2 * id, true) : 0;
    return off ? table + off : 0;
  };
  const root = v.getUint32(0, true);
  const codesField = field(root, 1);
  const vec = codesField + v.getUint32(codesField, true);
  const first = vec + 4 + v.getUint32(vec + 4, true);
  const wide = field(first, 3);
  const narrow = field(first, 0);
  assert.ok(wide || narrow, 'opcode fields present');
  if (wide) v.setInt32(wide, code, true);
  if (narrow) v.setInt8(narrow, code);
}
