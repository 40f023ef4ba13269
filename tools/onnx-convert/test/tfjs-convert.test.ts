/// <reference types="node" />
/**
 * The project's TFJS graph model → ONNX converter. Unit checks on tiny
 * hand-made graphs (weight decoding, error on unsupported ops), and the
 * CenterNet model of @vladmandic/human converted in memory, run with
 * onnxruntime-node on a real frame and compared with the outputs the
 * official @tensorflow/tfjs (CPU backend) produced for the same input tensor
 * (fixtures/ref_centernet__vtest_512.json). tfjs is not needed at test time.
 *
 * The CenterNet check needs the model files: @vladmandic/human installed, or
 * $HUMAN_PACKAGE_DIR pointing at an unpacked `npm pack @vladmandic/human`;
 * otherwise it is skipped.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { convertTfjs, decodeWeights, findHumanPackage, type TfjsModelJson } from '../src/index.js';
import { maxAbsDiff, type OutputRef } from './reference.js';

const here = dirname(fileURLToPath(import.meta.url));
const toolDir = join(here, '..', '..');
const fixtures = join(toolDir, 'test', 'fixtures');

const humanDir = () => findHumanPackage(toolDir);

const shape = (dims: number[]) => ({ shape: { dim: dims.map((size) => ({ size: String(size) })) } });
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** x[1,4,4,2] → 1x1 conv (2→3, bias, Relu6) → Mean over H,W (keep dims). */
function tinyModel(weights: TfjsModelJson['weightsManifest'][number]['weights'], extraOp?: string): TfjsModelJson {
  const nodes: TfjsModelJson['modelTopology']['node'] = [
    { name: 'x', op: 'Placeholder', attr: { shape: shape([1, 4, 4, 2]), dtype: { type: 'DT_FLOAT' } } },
    { name: 'w', op: 'Const', attr: { value: { tensor: {} }, dtype: { type: 'DT_FLOAT' } } },
    { name: 'b', op: 'Const', attr: { value: { tensor: {} }, dtype: { type: 'DT_FLOAT' } } },
    { name: 'axes', op: 'Const', attr: { value: { tensor: {} }, dtype: { type: 'DT_INT32' } } },
    {
      name: 'conv',
      op: '_FusedConv2D',
      input: ['x', 'w', 'b'],
      attr: {
        strides: { list: { i: ['1', '1', '1', '1'] } },
        padding: { s: b64('SAME') },
        data_format: { s: b64('NHWC') },
        fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } },
      },
    },
    { name: extraOp ? 'odd' : 'mean', op: extraOp ?? 'Mean', input: ['conv', 'axes'], attr: { keep_dims: { b: true } } },
  ];
  return {
    modelTopology: { node: nodes },
    weightsManifest: [{ paths: ['x.bin'], weights }],
    signature: { outputs: { y: { name: extraOp ? 'odd' : 'mean' } } },
  };
}

describe('tfjs → onnx converter', () => {
  test('decodes float32, uint8-quantized and float16 weights', () => {
    const model = tinyModel([
      { name: 'w', shape: [1, 1, 2, 3], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.5, min: -1 } },
      { name: 'b', shape: [3], dtype: 'float32', quantization: { dtype: 'float16' } },
      { name: 'axes', shape: [2], dtype: 'int32' },
    ]);
    const data = new Uint8Array([0, 1, 2, 3, 4, 5, 0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 1, 0, 0, 0, 2, 0, 0, 0]);
    const w = decodeWeights(model, data);
    assert.deepEqual(Array.from(w.get('w')!.data), [-1, -0.5, 0, 0.5, 1, 1.5]);
    assert.deepEqual(Array.from(w.get('b')!.data), [1, -2, 0.5]);
    assert.deepEqual(Array.from(w.get('axes')!.data), [1, 2]);
    assert.throws(() => decodeWeights(model, data.subarray(0, 10)), /too short/);
  });

  test('converts a small fused conv graph and matches a hand computation', async () => {
    const weights = [
      { name: 'w', shape: [1, 1, 2, 3], dtype: 'float32' },
      { name: 'b', shape: [3], dtype: 'float32' },
      { name: 'axes', shape: [2], dtype: 'int32' },
    ];
    const f = Float32Array.of(1, 0, -1, 0, 1, 10, 0.5, 0, 0);
    const data = new Uint8Array([...new Uint8Array(f.buffer), ...new Uint8Array(Int32Array.of(1, 2).buffer)]);
    const onnx = convertTfjs(tinyModel(weights), data);
    const sess = await ort.InferenceSession.create(onnx);
    const x = new Float32Array(32);
    for (let i = 0; i < 16; i++) {
      x[2 * i] = i / 4;
      x[2 * i + 1] = 1 - i / 8;
    }
    const out = (await sess.run({ x: new ort.Tensor('float32', x, [1, 4, 4, 2]) })).mean!;
    assert.deepEqual(out.dims, [1, 1, 1, 3]);
    const want = [0, 0, 0];
    for (let i = 0; i < 16; i++) {
      const [a, c] = [x[2 * i]!, x[2 * i + 1]!];
      const relu6 = (v: number) => Math.min(6, Math.max(0, v));
      want[0]! += relu6(a * 1 + c * 0 + 0.5) / 16;
      want[1]! += relu6(a * 0 + c * 1) / 16;
      want[2]! += relu6(a * -1 + c * 10) / 16;
    }
    for (let k = 0; k < 3; k++) assert.ok(Math.abs((out.data as Float32Array)[k]! - want[k]!) < 1e-5, `channel ${k}`);
  });

  test('names an unsupported op', () => {
    const weights = [
      { name: 'w', shape: [1, 1, 2, 3], dtype: 'float32' },
      { name: 'b', shape: [3], dtype: 'float32' },
      { name: 'axes', shape: [2], dtype: 'int32' },
    ];
    assert.throws(() => convertTfjs(tinyModel(weights, 'LoopCond'), new Uint8Array(44)), /unsupported TFJS op: LoopCond \(node "odd"\)/);
  });
});

const dir = humanDir();

describe('CenterNet (@vladmandic/human) converted vs @tensorflow/tfjs', () => {
  test('outputs match the tfjs reference on vtest_512.png', async () => {
    assert.ok(dir && existsSync(join(dir, 'models', 'centernet.json')), '@vladmandic/human is a dependency of @frameline/onnx-convert: run npm ci');
    const jsonPath = join(dir, 'models', 'centernet.json');
    const model = JSON.parse(readFileSync(jsonPath, 'utf8')) as TfjsModelJson;
    const bin = Buffer.concat(model.weightsManifest.flatMap((g) => g.paths.map((p) => readFileSync(join(dirname(jsonPath), p)))));
    const sess = await ort.InferenceSession.create(convertTfjs(model, new Uint8Array(bin)));
    const { data, info } = await sharp(join(fixtures, 'vtest_512.png')).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const input = new ort.Tensor('float32', Float32Array.from(data), [1, info.height, info.width, 3]);
    const got = await sess.run({ 'tower_0/images': input });
    const ref = JSON.parse(readFileSync(join(fixtures, 'ref_centernet__vtest_512.json'), 'utf8')) as { outputs: Record<string, OutputRef> };
    // Tolerances: heatmap is a sigmoid (0..1); wh and boxes are in input pixels (up to ~512).
    const tol: Record<string, number> = { 'tower_0/keypoints': 1e-5, 'tower_0/wh': 1e-2, 'tower_0/detections': 1e-2 };
    for (const [name, r] of Object.entries(ref.outputs)) {
      const t = got[name];
      assert.ok(t, `missing output ${name}`);
      assert.deepEqual(t.dims, r.shape, name);
      const a = t.data as Float32Array;
      const maxDiff = maxAbsDiff(r, a);
      assert.ok(maxDiff <= tol[name]!, `${name}: max abs diff ${maxDiff}`);
      const mean = a.reduce((s, v) => s + v, 0) / a.length;
      assert.ok(Math.abs(mean - r.mean) <= tol[name]!, `${name}: mean ${mean} vs ${r.mean}`);
    }
  });
});
