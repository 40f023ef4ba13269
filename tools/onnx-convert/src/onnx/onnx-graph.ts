// The part of building an ONNX graph that both of the project's converters
// (TFLite and TFJS) share: node and initializer lists, unique names, and the
// small constant helpers. Each converter extends it with its own reading of
// the source format and its own layout bookkeeping.
import { type AttrValue, DataType, type OnnxNode, type OnnxTensor } from './onnx-proto.js';

export abstract class OnnxGraphBuilder {
  protected nodes: OnnxNode[] = [];
  protected inits: OnnxTensor[] = [];
  private initNames = new Set<string>();
  private counter = 0;

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

  protected int64Init(hint: string, values: number[]): string {
    const data = BigInt64Array.from(values, (v) => BigInt(v));
    return this.addInit(this.fresh(hint), DataType.INT64, [values.length], new Uint8Array(data.buffer));
  }

  protected floatInit(hint: string, values: number[], dims: number[]): string {
    return this.addInit(this.fresh(hint), DataType.FLOAT, dims, new Uint8Array(Float32Array.from(values).buffer));
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

  protected scalar(v: number): string {
    return this.addInit(`scalar_${v}`, DataType.FLOAT, [], new Uint8Array(Float32Array.of(v).buffer));
  }
}
