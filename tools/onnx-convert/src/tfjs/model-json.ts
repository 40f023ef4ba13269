/**
 * TensorFlow.js graph-model reader: `model.json` (GraphDef as JSON plus a
 * weights manifest) and its binary weight shards.
 *
 * Weights are stored in manifest order, concatenated across shards. A weight
 * may be quantized: uint8/uint16 (`value = q * scale + min`) or float16;
 * every float weight is decoded to float32 here.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { DataType } from '../onnx/onnx-proto.js';
import { type Const, halfToFloat, numel } from '../onnx/tensor.js';

export interface TfjsAttrValue {
  s?: string; // base64
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  tensor?: { dtype?: string; tensorShape?: { dim?: { size: string | number }[] } };
  list?: { s?: string[]; i?: (string | number)[]; f?: number[]; type?: string[] };
}

export interface TfjsNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfjsAttrValue>;
}

export interface TfjsWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

export interface TfjsModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  modelTopology: { node: TfjsNode[]; library?: { function?: unknown[] }; versions?: unknown };
  weightsManifest: { paths: string[]; weights: TfjsWeightSpec[] }[];
  signature?: {
    inputs?: Record<string, { name: string; dtype?: string; tensorShape?: { dim?: { size: string | number }[] } }>;
    outputs?: Record<string, { name: string; dtype?: string; tensorShape?: { dim?: { size: string | number }[] } }>;
  };
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

/** Decode all weights of a model from its shard bytes (concatenated in manifest path order). */
export function decodeWeights(model: TfjsModelJson, data: Uint8Array): Map<string, Const> {
  const out = new Map<string, Const>();
  let off = 0;
  for (const group of model.weightsManifest) {
    for (const w of group.weights) {
      const n = numel(w.shape);
      const storage = w.quantization?.dtype ?? w.dtype;
      const size = BYTES[storage];
      if (size === undefined) throw new Error(`weight "${w.name}": unsupported dtype ${storage}`);
      const bytes = data.slice(off, off + n * size);
      if (bytes.length !== n * size) throw new Error(`weight "${w.name}": weight data too short`);
      off += n * size;
      out.set(w.name, decodeWeight(w, bytes));
    }
  }
  if (off !== data.length) throw new Error(`weights manifest covers ${off} bytes but the shards hold ${data.length}`);
  return out;
}

function decodeWeight(w: TfjsWeightSpec, bytes: Uint8Array): Const {
  const q = w.quantization;
  const shape = [...w.shape];
  const buf = bytes.buffer as ArrayBuffer;
  if (q) {
    let raw: Uint8Array | Uint16Array;
    if (q.dtype === 'float16') {
      const h = new Uint16Array(buf);
      const f = new Float32Array(h.length);
      for (let i = 0; i < h.length; i++) f[i] = halfToFloat(h[i]!);
      return finish(w, shape, f);
    }
    if (q.dtype === 'uint8') raw = new Uint8Array(buf);
    else if (q.dtype === 'uint16') raw = new Uint16Array(buf);
    else throw new Error(`weight "${w.name}": unsupported quantization ${q.dtype}`);
    const scale = q.scale ?? 1;
    const min = q.min ?? 0;
    const f = new Float32Array(raw.length);
    for (let i = 0; i < raw.length; i++) f[i] = raw[i]! * scale + min;
    return finish(w, shape, f);
  }
  switch (w.dtype) {
    case 'float32':
      return { type: DataType.FLOAT, shape, data: new Float32Array(buf) };
    case 'int32':
      return { type: DataType.INT32, shape, data: new Int32Array(buf) };
    case 'bool':
      return { type: DataType.BOOL, shape, data: new Uint8Array(buf) };
    default:
      throw new Error(`weight "${w.name}": unsupported dtype ${w.dtype}`);
  }
}

/** A quantized weight whose original dtype is int32 is rounded back to integers. */
function finish(w: TfjsWeightSpec, shape: number[], f: Float32Array): Const {
  if (w.dtype === 'int32') return { type: DataType.INT32, shape, data: Int32Array.from(f, (v) => Math.round(v)) };
  return { type: DataType.FLOAT, shape, data: f };
}

/** Attribute helpers (GraphDef JSON encodes int64 as strings and strings as base64). */
export function attrString(n: TfjsNode, key: string): string | undefined {
  const s = n.attr?.[key]?.s;
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
}

export function attrInt(n: TfjsNode, key: string, dflt: number): number {
  const v = n.attr?.[key]?.i;
  return v === undefined ? dflt : Number(v);
}

export function attrBool(n: TfjsNode, key: string, dflt = false): boolean {
  return n.attr?.[key]?.b ?? dflt;
}

export function attrFloat(n: TfjsNode, key: string, dflt: number): number {
  return n.attr?.[key]?.f ?? dflt;
}

export function attrInts(n: TfjsNode, key: string): number[] | undefined {
  const l = n.attr?.[key]?.list;
  return l ? (l.i ?? []).map(Number) : undefined;
}

export function attrStrings(n: TfjsNode, key: string): string[] {
  return (n.attr?.[key]?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString('utf8'));
}

export function attrType(n: TfjsNode, key: string): string | undefined {
  return n.attr?.[key]?.type;
}

export function dimsOf(shape: { dim?: { size: string | number }[] } | undefined): number[] {
  return (shape?.dim ?? []).map((d) => Number(d.size));
}

/**
 * The installed @vladmandic/human package folder ($HUMAN_PACKAGE_DIR first).
 * Its `exports` map hides package.json from require.resolve, so the
 * node_modules folders that Node would search are walked instead.
 */
export function findHumanPackage(fromDir: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.HUMAN_PACKAGE_DIR) return env.HUMAN_PACKAGE_DIR;
  const paths = createRequire(join(fromDir, 'package.json')).resolve.paths('@vladmandic/human') ?? [];
  return paths.map((p) => join(p, '@vladmandic/human')).find((p) => existsSync(join(p, 'models', 'centernet.json')));
}
