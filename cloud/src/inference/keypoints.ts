/**
 * Generic adapter for a user-supplied single-stage ONNX keypoint model,
 * described entirely by config: input geometry and normalisation, and how to
 * read the output. Implemented decode kind:
 *
 * - `movenet-singlepose`: output `[N, 1, K, 3]` of `(y, x, score)` per
 *   keypoint, normalised 0..1 to the model input (MoveNet SinglePose's
 *   layout). One person per frame; its score is the mean keypoint score.
 *
 * The input tensor is float32; the frame is letterboxed (aspect kept, black
 * bars) or stretched to the input size.
 */
import type { Logger } from '@frameline/shared';
import { keypointBox } from './box.js';
import { createSession, type SessionOptions } from './session.js';
import { COCO_KEYPOINTS, type DecodedImage, type Keypoint, type Person, type PoseModel } from './types.js';
import { warpInto, type Affine, type Normalisation } from './warp.js';

export interface MoveNetDecode {
  kind: 'movenet-singlepose';
  /** output to read; default: the model's first output */
  output?: string;
  /** one name per keypoint, in output order; default the 17 COCO names */
  keypointNames?: string[];
  /** a frame whose mean keypoint score is below this has no person; default 0.2 */
  minScore?: number;
}

export interface OnnxKeypointsOptions {
  kind: 'onnx-keypoints';
  /** name reported in results; default the model file's base name */
  name?: string;
  modelPath: string;
  input: {
    width: number;
    height: number;
    layout: 'NHWC' | 'NCHW';
    /** tensor value = byte × scale + offset, per RGB channel when arrays; e.g. [0,1]: scale 1/255, offset 0 */
    normalisation: Normalisation;
    resize: 'letterbox' | 'stretch';
  };
  decode: MoveNetDecode;
  /** Keypoints at or above this score make up the person box; default 0.3. */
  minVisibility?: number;
  session?: Omit<SessionOptions, 'modelPath' | 'itemShape'>;
}

/** Model input pixel centres → frame coordinates for the chosen resize. */
export function inputAffine(image: DecodedImage, width: number, height: number, resize: 'letterbox' | 'stretch'): Affine {
  if (resize === 'stretch') {
    return { originX: 0, originY: 0, uxX: image.width / width, uxY: 0, vyX: 0, vyY: image.height / height };
  }
  const s = Math.max(image.width / width, image.height / height);
  return { originX: (image.width - width * s) / 2, originY: (image.height - height * s) / 2, uxX: s, uxY: 0, vyX: 0, vyY: s };
}

function decodeMoveNet(
  values: Float32Array,
  item: number,
  names: string[],
  affine: Affine,
  options: OnnxKeypointsOptions,
  image: DecodedImage,
): Person | undefined {
  const { width, height } = options.input;
  const base = item * names.length * 3;
  const keypoints = names.map((name, k): Keypoint => {
    const u = values[base + 3 * k + 1]! * width;
    const v = values[base + 3 * k]! * height;
    return {
      name,
      x: affine.originX + u * affine.uxX + v * affine.vyX,
      y: affine.originY + u * affine.uxY + v * affine.vyY,
      visibility: values[base + 3 * k + 2]!,
    };
  });
  const score = keypoints.reduce((s, k) => s + k.visibility, 0) / keypoints.length;
  if (score < (options.decode.minScore ?? 0.2)) return undefined;
  return { box: keypointBox(keypoints, options.minVisibility ?? 0.3, image), score, keypoints };
}

/** Config comes from users: name the missing or wrong key instead of failing deep inside. */
function checkOptions(options: OnnxKeypointsOptions): void {
  const fail = (key: string, why: string): never => {
    throw new Error(`onnx-keypoints model config: ${key} ${why}`);
  };
  if (!options.modelPath) fail('modelPath', 'is required');
  if (!options.input) fail('input', 'is required ({ width, height, layout, normalisation, resize })');
  if (!(options.input.width > 0 && options.input.height > 0)) fail('input.width/height', 'must be positive');
  if (options.input.layout !== 'NHWC' && options.input.layout !== 'NCHW') fail('input.layout', 'must be NHWC or NCHW');
  if (!options.input.normalisation) fail('input.normalisation', 'is required ({ scale, offset })');
  if (options.input.resize !== 'letterbox' && options.input.resize !== 'stretch') fail('input.resize', 'must be letterbox or stretch');
  if (options.decode?.kind !== 'movenet-singlepose') fail('decode.kind', 'must be movenet-singlepose (the only decode implemented)');
}

export async function createOnnxKeypointsModel(options: OnnxKeypointsOptions, logger: Logger): Promise<PoseModel> {
  checkOptions(options);
  const { width, height, layout, normalisation, resize } = options.input;
  const itemShape = layout === 'NHWC' ? [height, width, 3] : [3, height, width];
  const hint = 'check the modelPath of the onnx-keypoints model in the config';
  const session = await createSession({ ...options.session, modelPath: options.modelPath, itemShape }, logger.child('onnx-keypoints'), hint);
  const names = options.decode.keypointNames ?? [...COCO_KEYPOINTS];
  const output = options.decode.output ?? session.session.outputNames[0];
  const itemSize = width * height * 3;

  return {
    name: options.name ?? options.modelPath.replace(/^.*\//, '').replace(/\.onnx$/, ''),
    batchable: true,
    async infer(images) {
      if (images.length === 0) return [];
      const t0 = performance.now();
      const input = new Float32Array(images.length * itemSize);
      const affines = images.map((image, i) => {
        const affine = inputAffine(image, width, height, resize);
        warpInto(image, affine, { data: input, offset: i * itemSize, width, height, layout }, normalisation, 'zero');
        return affine;
      });
      const out = await session.run(input, images.length);
      const values = output === undefined ? undefined : out[output];
      if (!values || values.length !== images.length * names.length * 3) {
        throw new Error(`${options.modelPath}: output ${output} is not [N, 1, ${names.length}, 3] float32 (movenet-singlepose)`);
      }
      const ms = performance.now() - t0;
      const timings = { detectMs: 0, landmarksMs: ms, totalMs: ms };
      return images.map((image, i) => {
        const person = decodeMoveNet(values, i, names, affines[i]!, options, image);
        return { persons: person ? [person] : [], timings };
      });
    },
    close: () => session.close(),
  };
}
