/**
 * Constant tensors as both converters hold them at conversion time (weights,
 * folded ops), typed with ONNX element types so they become initializers as
 * they are, and the permutations that put TF's NHWC weights into ONNX order.
 */

export type ConstData = Float32Array | Int32Array | Uint16Array | Int8Array | Uint8Array;

export interface Const {
  /** onnx.TensorProto.DataType code (see onnx-proto.ts DataType) */
  type: number;
  shape: number[];
  data: ConstData;
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** IEEE 754 half → single precision. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24; // subnormal (or zero)
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** An empty array of the same element kind as `data`, n elements long. */
export function makeLike(data: ConstData, n: number): ConstData {
  const Ctor = data.constructor as new (n: number) => ConstData;
  return new Ctor(n);
}

export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** out[...] = in[perm applied]: output dim i is input dim perm[i] (numpy.transpose semantics). */
export function transposeConst(c: Const, perm: readonly number[]): Const {
  const inShape = c.shape;
  const outShape = perm.map((p) => inShape[p]!);
  const inStrides = stridesOf(inShape);
  const permStrides = perm.map((p) => inStrides[p]!);
  const out = makeLike(c.data, c.data.length);
  const idx = new Array<number>(outShape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < idx.length; d++) src += idx[d]! * permStrides[d]!;
    out[o] = c.data[src]!;
    // increment the multi-index (row-major over the output shape)
    for (let d = idx.length - 1; d >= 0; d--) {
      if (++idx[d]! < outShape[d]!) break;
      idx[d] = 0;
    }
  }
  return { type: c.type, shape: outShape, data: out };
}
