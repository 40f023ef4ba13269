// The part of building an ONNX graph that both of the project's converters
// (TFLite and TFJS) share: node and initializer lists, unique names, the
// small constant helpers, and the layout bookkeeping. Each converter extends
// it with its own reading of the source format.
//
// Layout strategy: the ONNX model keeps the source graph's external interface
// (NHWC inputs, its output names and shapes) while 4-D activations inside are
// NCHW, which ONNX Conv/Pool/Resize/DepthToSpace expect. Every source tensor
// may exist as up to two ONNX values, one per layout; a Transpose is inserted
// lazily the first time a consumer needs the other one. Constants are emitted
// as initializers already in the layout the consuming op needs.
import { type AttrValue, DataType, type OnnxNode, type OnnxTensor } from './onnx-proto.js';
import { type Const, transposeConst } from './tensor.js';

export type Layout = 'native' | 'nchw';
export const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];

/** What a constant is wanted for: as stored, transposed to NCHW, or padded to rank 4 and transposed (broadcast). */
export type ConstUse = Layout | 'broadcast';

/**
 * TF "SAME" padding of a 2-D window: output = ceil(in / stride), the total
 * padding split with the extra pixel at the end. Returns ONNX pads
 * [top, left, bottom, right].
 */
export function samePads(inH: number, inW: number, kH: number, kW: number, [sH, sW]: number[], [dH, dW]: number[]): number[] {
  const total = (n: number, k: number, s: number, d: number): number => Math.max((Math.ceil(n / s) - 1) * s + (k - 1) * d + 1 - n, 0);
  const tH = total(inH, kH, sH!, dH!);
  const tW = total(inW, kW, sW!, dW!);
  return [Math.floor(tH / 2), Math.floor(tW / 2), tH - Math.floor(tH / 2), tW - Math.floor(tW / 2)];
}

/** TF paddings [rank, 2] as (before, after) per NHWC dim → ONNX Pad's [begins..., ends...] in the ONNX value's layout. */
export function onnxPads(pairs: number[]): number[] {
  const rank = pairs.length / 2;
  const order = rank === 4 ? TO_NCHW : [...Array(rank).keys()];
  return [...order.map((d) => pairs[2 * d]!), ...order.map((d) => pairs[2 * d + 1]!)];
}

/** The axis of a rank-`rank` NHWC tensor in its ONNX value (NCHW when 4-D). */
export function onnxAxis(axis: number, rank: number): number {
  return rank === 4 ? TO_NCHW.indexOf(axis) : axis;
}

/** K: the converter's tensor key (a TFLite tensor index, a TF "node:k" reference). */
export abstract class OnnxGraphBuilder<K> {
  protected nodes: OnnxNode[] = [];
  protected inits: OnnxTensor[] = [];
  /** tensor key → ONNX value name, per layout */
  protected values: Record<Layout, Map<K, string>> = { native: new Map(), nchw: new Map() };
  private initNames = new Set<string>();
  private counter = 0;

  /** Rank of tensor k in the source graph. */
  protected abstract rankOf(k: K): number;
  /** The constant value of k prepared for `use` (e.g. fp16 widened), or undefined when k is computed. */
  protected abstract constantFor(k: K, use: ConstUse): Const | undefined;
  /** The tensor's name in the source graph, for errors. */
  protected abstract label(k: K): string;
  /** ONNX name of k's value in a layout, made by an op or by an inserted Transpose. */
  protected abstract valueName(k: K, layout: Layout, madeBy: 'op' | 'transpose'): string;
  /** ONNX name of the initializer holding constant k for `use`. */
  protected abstract constName(k: K, use: ConstUse): string;

  protected fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  protected emit(op: string, inputs: string[], outputs: string[], attrs?: Record<string, AttrValue>): void {
    this.nodes.push({ op, inputs, outputs, name: this.fresh(op), ...(attrs ? { attrs } : {}) });
  }

  /** Adds an initializer once per name (constants shared by several nodes stay one tensor). */
  protected addInit(name: string, dataType: number, dims: number[], raw: Uint8Array): string {
    if (!this.initNames.has(name)) {
      this.initNames.add(name);
      this.inits.push({ name, dataType, dims, raw });
    }
    return name;
  }

  protected constInit(name: string, c: Const): string {
    return this.addInit(name, c.type, c.shape, new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength));
  }

  protected int64Init(hint: string, values: number[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    return this.addInit(this.fresh(hint), DataType.INT64, [values.length], new Uint8Array(data.buffer));
  }

  protected floatInit(hint: string, values: number[], dims: number[]): string {
    return this.addInit(this.fresh(hint), DataType.FLOAT, dims, new Uint8Array(Float32Array.from(values).buffer));
  }

  protected scalar(v: number): string {
    return this.addInit(`scalar_${v}`, DataType.FLOAT, [], new Uint8Array(Float32Array.of(v).buffer));
  }

  // ---------------------------------------------------------------- layouts

  protected is4d(k: K): boolean {
    return this.rankOf(k) === 4;
  }

  /** The ONNX value for tensor k in the requested layout, transposing lazily. */
  protected valueIn(k: K, layout: Layout): string {
    // Below rank 4 the two layouts are the same thing.
    const want: Layout = this.is4d(k) ? layout : 'native';
    const have = this.values[want].get(k);
    if (have) return have;
    const c = this.constantFor(k, want);
    if (c) return this.constInit(this.constName(k, want), want === 'nchw' ? transposeConst(c, TO_NCHW) : c);
    const other: Layout = want === 'nchw' ? 'native' : 'nchw';
    const src = this.values[other].get(k);
    if (!src) throw new Error(`tensor "${this.label(k)}" is used before it is produced`);
    const name = this.valueName(k, want, 'transpose');
    this.emit('Transpose', [src], [name], { perm: want === 'nchw' ? TO_NCHW : TO_NHWC });
    this.values[want].set(k, name);
    return name;
  }

  /** Any existing value for k, preferring NCHW, so layout-agnostic ops add no Transpose. */
  protected anyValue(k: K): { name: string; layout: Layout } {
    const nchw = this.values.nchw.get(k);
    if (nchw) return { name: nchw, layout: 'nchw' };
    return { name: this.valueIn(k, 'native'), layout: 'native' };
  }

  /** Names the value an op produces for tensor k in a layout (native below rank 4) and registers it. */
  protected produce(k: K, layout: Layout): string {
    const want: Layout = this.is4d(k) ? layout : 'native';
    const name = this.valueName(k, want, 'op');
    this.values[want].set(k, name);
    return name;
  }

  /**
   * Operand of an elementwise op whose output is NCHW 4-D. Constants of lower
   * rank broadcast against NHWC from the right (e.g. per-channel [C]); they
   * are padded to rank 4 and permuted so they broadcast the same way in NCHW.
   */
  protected broadcastNchw(k: K): string {
    if (this.is4d(k)) return this.valueIn(k, 'nchw');
    const c = this.constantFor(k, 'broadcast');
    if (!c) throw new Error(`elementwise op mixes a 4-D tensor with non-constant rank-${this.rankOf(k)} "${this.label(k)}"`);
    const shape4 = [...new Array<number>(4 - c.shape.length).fill(1), ...c.shape];
    return this.constInit(this.constName(k, 'broadcast'), transposeConst({ ...c, shape: shape4 }, TO_NCHW));
  }

  /**
   * TensorFlow's ResizeBilinear/ResizeNearestNeighbor (both source formats
   * share its semantics) as an ONNX Resize of the NCHW value `xv`.
   */
  protected emitTfResize(
    xv: string,
    y: string,
    [n, c, inH, inW]: [number, number, number, number],
    [outH, outW]: [number, number],
    mode: 'linear' | 'nearest',
    alignCorners: boolean,
    halfPixel: boolean,
  ): void {
    const attrs: Record<string, AttrValue> = { mode };
    if (alignCorners) attrs.coordinate_transformation_mode = 'align_corners';
    else if (halfPixel) attrs.coordinate_transformation_mode = mode === 'linear' ? 'half_pixel' : 'tf_half_pixel_for_nn';
    else attrs.coordinate_transformation_mode = 'asymmetric';
    if (mode === 'nearest') attrs.nearest_mode = alignCorners ? 'round_prefer_ceil' : 'floor';
    // Scales keep the batch dimension free; use them when they reproduce the
    // exact output size in float32, as onnxruntime computes floor(in * scale).
    const sh = Math.fround(outH / inH);
    const sw = Math.fround(outW / inW);
    const exact = Math.floor(Math.fround(inH * sh)) === outH && Math.floor(Math.fround(inW * sw)) === outW;
    const inputs = exact
      ? [xv, '', this.floatInit('scales', [1, 1, sh, sw], [4])]
      : [xv, '', '', this.int64Init('sizes', [n, c, outH, outW])];
    this.emit('Resize', inputs, [y], attrs);
  }
}
