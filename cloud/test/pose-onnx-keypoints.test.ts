/// <reference types="node" />
/**
 * The generic `onnx-keypoints` adapter with a tiny ONNX model built here: it
 * takes a [N,3,H,W] image and returns fixed MoveNet-style keypoints whose
 * scores are the image's mean brightness, so the test sees the input layout,
 * normalisation, batching, decode and the letterbox mapping back to frame px.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createLogger } from '@frameline/shared';
import { createPoseModel, type DecodedImage } from '../src/inference/index.js';
import { DataType, encodeModel } from '@frameline/onnx-convert';

const SIZE = 64;
const K = 17;
/** keypoint k at (y, x) = (0.25 + 0.02k, 0.5), normalised to the model input */
const yx = Array.from({ length: K }, (_, k) => [0.25 + 0.02 * k, 0.5]);

const floats = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** out[n,0,k,:] = (y_k, x_k, 0) + (0, 0, mean of input[n]) */
function tinyMoveNet(): Uint8Array {
  return encodeModel({
    graphName: 'tiny_movenet',
    opset: 13,
    producer: 'frameline-test',
    docString: 'fixed keypoints, score = mean pixel',
    inputs: [{ name: 'image', elemType: DataType.FLOAT, dims: ['batch', 3, SIZE, SIZE] }],
    outputs: [{ name: 'keypoints', elemType: DataType.FLOAT, dims: ['batch', 1, K, 3] }],
    initializers: [
      { name: 'positions', dataType: DataType.FLOAT, dims: [1, 1, K, 3], raw: floats(yx.flatMap(([y, x]) => [y!, x!, 0])) },
      { name: 'score_mask', dataType: DataType.FLOAT, dims: [1, 1, 1, 3], raw: floats([0, 0, 1]) },
    ],
    nodes: [
      { op: 'ReduceMean', inputs: ['image'], outputs: ['mean'], name: 'mean', attrs: { axes: [1, 2, 3], keepdims: 1 } },
      { op: 'Mul', inputs: ['mean', 'score_mask'], outputs: ['score'], name: 'score' },
      { op: 'Add', inputs: ['positions', 'score'], outputs: ['keypoints'], name: 'out' },
    ],
  });
}

const grey = (width: number, height: number, value: number): DecodedImage => ({ width, height, rgb: Buffer.alloc(width * height * 3, value) });

test('onnx-keypoints adapter: NCHW input, [0,1] scaling, batched, MoveNet decode mapped through the letterbox', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-onnx-kp-'));
  try {
    const modelPath = join(dir, 'tiny_movenet.onnx');
    await writeFile(modelPath, tinyMoveNet());
    const model = await createPoseModel(
      {
        kind: 'onnx-keypoints',
        modelPath,
        input: { width: SIZE, height: SIZE, layout: 'NCHW', normalisation: { scale: 1 / 255, offset: 0 }, resize: 'letterbox' },
        decode: { kind: 'movenet-singlepose', minScore: 0.3 },
      },
      createLogger({ level: 'warn' }),
    );
    try {
      assert.equal(model.name, 'tiny_movenet');
      // 200x100 frame letterboxed into 64x64: scale 200/64, 50 px bars above and below
      const results = await model.infer([grey(200, 100, 204), grey(200, 100, 51)]);
      assert.equal(results.length, 2);
      const [bright, dark] = results;
      assert.equal(dark!.persons.length, 0, 'mean brightness 0.2 is below minScore 0.3');
      assert.equal(bright!.persons.length, 1);
      const person = bright!.persons[0]!;
      // letterbox bars are black (0) in 1/4 of the input: mean = 0.8 * 0.5
      assert.ok(Math.abs(person.score - 0.4) < 0.01, `score ${person.score}`);
      assert.equal(person.keypoints[0]!.name, 'nose');
      person.keypoints.forEach((k, i) => {
        assert.ok(Math.abs(k.x - 100) < 1e-3, `${k.name} x ${k.x}`);
        assert.ok(Math.abs(k.y - (-50 + (0.25 + 0.02 * i) * 200)) < 1e-3, `${k.name} y ${k.y}`);
      });
      // keypoints span y 0..64; the 10 % outline margin makes it -6.4..70.4, clipped at the top edge
      assert.deepEqual(person.box.map((v) => Math.round(v * 10) / 10), [100, 0, 0, 70.4]);
    } finally {
      await model.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
