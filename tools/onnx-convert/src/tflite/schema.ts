/**
 * The subset of the TFLite FlatBuffer schema (schema.fbs, "TFL3") that the
 * converter needs, decoded into plain objects. Field ids are the declaration
 * order in schema.fbs; only fields we use are read.
 */
import { FbTable } from './flatbuffers.js';

/** BuiltinOperator codes we handle or name in errors. */
export const Op = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEPTH_TO_SPACE: 5,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU_N1_TO_1: 20,
  RELU6: 21,
  RESHAPE: 22,
  RESIZE_BILINEAR: 23,
  SOFTMAX: 25,
  SPACE_TO_DEPTH: 26,
  TANH: 28,
  CUSTOM: 32,
  PAD: 34,
  SUB: 41,
  PRELU: 54,
  RESIZE_NEAREST_NEIGHBOR: 97,
  HARD_SWISH: 117,
  DENSIFY: 124,
} as const;

/** Reverse map for readable error messages. */
const OP_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Op).map(([name, code]) => [code, name]),
);

export function opName(code: number): string {
  return OP_NAMES[code] ?? `builtin op #${code}`;
}

export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  INT16: 7,
  INT8: 9,
} as const;

export const Activation = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 } as const;
export const Padding = { SAME: 0, VALID: 1 } as const;

export interface Quantization {
  scale: number[];
  zeroPoint: number[];
  quantizedDimension: number;
}

/** One level of a sparse tensor's storage (DimensionMetadata). */
export interface DimMeta {
  format: 'dense' | 'csr';
  denseSize: number;
  segments: number[];
  indices: number[];
}

export interface Sparsity {
  traversalOrder: number[];
  blockMap: number[];
  dims: DimMeta[];
}

export interface Tensor {
  index: number;
  name: string;
  shape: number[];
  type: number;
  buffer: number;
  quantization: Quantization | undefined;
  sparsity: Sparsity | undefined;
}

export interface Operator {
  opcode: number;
  /** builtin code, or the custom code string for CUSTOM ops */
  customCode: string | undefined;
  inputs: number[];
  outputs: number[];
  /** builtin_options as an undecoded table: each op handler reads its fields */
  options: FbTable | undefined;
}

export interface SubGraph {
  tensors: Tensor[];
  inputs: number[];
  outputs: number[];
  operators: Operator[];
  name: string;
}

export interface Model {
  version: number;
  description: string;
  subgraphs: SubGraph[];
  /** raw bytes of each buffer (empty when the tensor has no constant data) */
  buffers: Uint8Array[];
}

export function parseModel(bytes: Uint8Array): Model {
  const ident = new TextDecoder().decode(bytes.subarray(4, 8));
  if (ident !== 'TFL3') throw new Error(`not a TFLite model (file identifier "${ident}", expected "TFL3")`);
  const root = FbTable.root(bytes);
  const opcodes = root.tables(1).map(parseOperatorCode);
  return {
    version: root.u32(0),
    description: root.string(3) ?? '',
    subgraphs: root.tables(2).map((sg) => parseSubGraph(sg, opcodes)),
    buffers: root.tables(4).map((b) => parseBuffer(b, bytes)),
  };
}

interface OpCode {
  builtin: number;
  custom: string | undefined;
}

function parseOperatorCode(t: FbTable): OpCode {
  // Codes >= 127 live only in the int32 field 3; older files only have the
  // byte field 0. The real code is the larger of the two.
  return { builtin: Math.max(t.i8(0), t.i32(3)), custom: t.string(1) };
}

function parseBuffer(t: FbTable, file: Uint8Array): Uint8Array {
  const data = t.bytes(0);
  if (data && data.length > 0) return data;
  // Models over 2 GB store data outside the FlatBuffer: offset/size fields.
  const offset = t.u64(1);
  const size = t.u64(2);
  if (offset > 1 && size > 0) return file.subarray(offset, offset + size);
  return new Uint8Array(0);
}

function parseSubGraph(t: FbTable, opcodes: OpCode[]): SubGraph {
  return {
    tensors: t.tables(0).map(parseTensor),
    inputs: t.i32s(1) ?? [],
    outputs: t.i32s(2) ?? [],
    operators: t.tables(3).map((o) => parseOperator(o, opcodes)),
    name: t.string(4) ?? '',
  };
}

function parseTensor(t: FbTable, index: number): Tensor {
  return {
    index,
    shape: t.i32s(0) ?? [],
    type: t.u8(1),
    buffer: t.u32(2),
    name: t.string(3) ?? `tensor_${index}`,
    quantization: parseQuantization(t.table(4)),
    sparsity: parseSparsity(t.table(6)),
  };
}

function parseQuantization(t: FbTable | undefined): Quantization | undefined {
  if (!t) return undefined;
  const scale = t.f32s(2) ?? [];
  if (scale.length === 0) return undefined;
  return { scale, zeroPoint: t.i64s(3) ?? [], quantizedDimension: t.i32(6) };
}

function parseSparsity(t: FbTable | undefined): Sparsity | undefined {
  if (!t) return undefined;
  return {
    traversalOrder: t.i32s(0) ?? [],
    blockMap: t.i32s(1) ?? [],
    dims: t.tables(2).map(parseDimMeta),
  };
}

function parseDimMeta(t: FbTable): DimMeta {
  return {
    format: t.u8(0) === 0 ? 'dense' : 'csr',
    denseSize: t.i32(1),
    segments: parseIndexVector(t.u8(2), t.table(3)),
    indices: parseIndexVector(t.u8(4), t.table(5)),
  };
}

/** SparseIndexVector union: 1 Int32Vector, 2 Uint16Vector, 3 Uint8Vector. */
function parseIndexVector(kind: number, t: FbTable | undefined): number[] {
  if (!t || kind === 0) return [];
  if (kind === 1) return t.i32s(0) ?? [];
  if (kind === 2) return t.u16s(0) ?? [];
  if (kind === 3) return Array.from(t.bytes(0) ?? []);
  throw new Error(`unknown SparseIndexVector type ${kind}`);
}

function parseOperator(t: FbTable, opcodes: OpCode[]): Operator {
  const code = opcodes[t.u32(0)];
  if (!code) throw new Error(`operator references missing opcode index ${t.u32(0)}`);
  return {
    opcode: code.builtin,
    customCode: code.custom,
    inputs: t.i32s(1) ?? [],
    outputs: t.i32s(2) ?? [],
    options: t.table(4),
  };
}
