/**
 * TFLite constant tensors evaluated at conversion time: decoding TFLite
 * buffers, DENSIFY (sparse → dense) and DEQUANTIZE (fp16/int8 → fp32).
 */
import { DataType } from '../onnx/onnx-proto.js';
import { type Const, halfToFloat, makeLike, numel, stridesOf } from '../onnx/tensor.js';
import { type Quantization, type Sparsity, type Tensor, TensorType } from './schema.js';

/** Copy the raw buffer first: TFLite data is not guaranteed to be aligned for typed-array views. */
function aligned(raw: Uint8Array): ArrayBuffer {
  return raw.slice().buffer;
}

/**
 * Decode a tensor's buffer. The element count comes from the bytes, not the
 * shape, because sparse tensors store fewer values than their dense shape.
 * Assumes a little-endian host, as TFLite files are little-endian.
 */
export function decodeBuffer(t: Tensor, raw: Uint8Array): Const {
  const buf = aligned(raw);
  switch (t.type) {
    case TensorType.FLOAT32:
      return { type: DataType.FLOAT, shape: t.shape, data: new Float32Array(buf) };
    case TensorType.INT32:
      return { type: DataType.INT32, shape: t.shape, data: new Int32Array(buf) };
    case TensorType.FLOAT16:
      return { type: DataType.FLOAT16, shape: t.shape, data: new Uint16Array(buf) };
    case TensorType.INT8:
      return { type: DataType.INT8, shape: t.shape, data: new Int8Array(buf) };
    case TensorType.UINT8:
      return { type: DataType.UINT8, shape: t.shape, data: new Uint8Array(buf) };
    case TensorType.INT64: {
      // Narrow to int32: int64 constants in these models are shapes/axes.
      const wide = new BigInt64Array(buf);
      return { type: DataType.INT32, shape: t.shape, data: Int32Array.from(wide, (v) => Number(v)) };
    }
    default:
      throw new Error(`constant tensor "${t.name}" has unsupported TFLite type ${t.type}`);
  }
}

/** DEQUANTIZE at conversion time: fp16 → fp32, or affine int8/uint8 → fp32. */
export function dequantize(c: Const, q: Quantization | undefined, name: string): Const {
  const out = new Float32Array(c.data.length);
  if (c.type === DataType.FLOAT16) {
    for (let i = 0; i < out.length; i++) out[i] = halfToFloat(c.data[i]!);
  } else if (c.type === DataType.INT8 || c.type === DataType.UINT8) {
    if (!q) throw new Error(`DEQUANTIZE of "${name}": integer tensor without quantization parameters`);
    dequantizeAffine(c, q, out);
  } else if (c.type === DataType.FLOAT) {
    out.set(c.data);
  } else {
    throw new Error(`DEQUANTIZE of "${name}": unsupported input type ${c.type}`);
  }
  return { type: DataType.FLOAT, shape: c.shape, data: out };
}

function dequantizeAffine(c: Const, q: Quantization, out: Float32Array): void {
  // Per-axis quantization: the scale index is the coordinate along quantizedDimension.
  const perAxis = q.scale.length > 1;
  const inner = perAxis ? numel(c.shape.slice(q.quantizedDimension + 1)) : 1;
  const axisLen = perAxis ? c.shape[q.quantizedDimension]! : 1;
  for (let i = 0; i < out.length; i++) {
    const ch = perAxis ? Math.floor(i / inner) % axisLen : 0;
    out[i] = (c.data[i]! - (q.zeroPoint[ch] ?? 0)) * q.scale[ch]!;
  }
}

/**
 * DENSIFY at conversion time (TFLite sparsity format: traversal_order over
 * the original dims followed by block dims, each level DENSE or CSR).
 * Stored values are consumed in traversal order.
 */
export function densify(c: Const, sp: Sparsity, denseShape: number[]): Const {
  const rank = denseShape.length;
  const { traversalOrder, blockMap, dims } = sp;
  const blockSize = blockMap.map((_, k) => dims[rank + traversalOrder.slice(rank).indexOf(rank + k)]?.denseSize ?? 1);
  const out = makeLike(c.data, numel(denseShape));
  const strides = stridesOf(denseShape);
  const coords: number[] = new Array<number>(traversalOrder.length).fill(0);
  let src = 0;

  const emit = (): void => {
    const orig = new Array<number>(rank).fill(0);
    for (let lvl = 0; lvl < rank; lvl++) orig[traversalOrder[lvl]!] = coords[lvl]!;
    for (let lvl = rank; lvl < traversalOrder.length; lvl++) {
      const b = traversalOrder[lvl]! - rank;
      const d = blockMap[b]!;
      orig[d] = orig[d]! * blockSize[b]! + coords[lvl]!;
    }
    let flat = 0;
    for (let d = 0; d < rank; d++) flat += orig[d]! * strides[d]!;
    out[flat] = c.data[src++]!;
  };

  const walk = (level: number, prev: number): void => {
    if (level === traversalOrder.length) return emit();
    const meta = dims[level];
    if (!meta) throw new Error(`sparse tensor lacks dim_metadata for level ${level}`);
    if (meta.format === 'dense') {
      for (let i = 0; i < meta.denseSize; i++) {
        coords[level] = i;
        walk(level + 1, prev * meta.denseSize + i);
      }
    } else {
      for (let j = meta.segments[prev]!; j < meta.segments[prev + 1]!; j++) {
        coords[level] = meta.indices[j]!;
        walk(level + 1, j);
      }
    }
  };
  walk(0, 0);
  return { type: c.type, shape: denseShape, data: out };
}
