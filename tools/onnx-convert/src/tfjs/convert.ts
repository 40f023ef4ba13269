/**
 * TensorFlow.js graph model → ONNX conversion (the project's own converter).
 * The layout strategy (NHWC outside, NCHW inside, lazy Transposes) is
 * OnnxGraphBuilder's, shared with the TFLite converter; tensors are keyed by
 * their TF reference "node:k". Shapes are inferred statically from
 * the Placeholder shape, so the graph must have a fully known input shape.
 * Only the ops listed in `convertNode` are supported; anything else fails
 * with an error that names the op and the node.
 */
import { type AttrValue, DataType, encodeModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../onnx/onnx-proto.js';
import { type ConstUse, type Layout, OnnxGraphBuilder, onnxAxis, onnxPads, samePads } from '../onnx/onnx-graph.js';
import { type Const, transposeConst } from '../onnx/tensor.js';
import {
  attrBool,
  attrFloat,
  attrInt,
  attrInts,
  attrString,
  attrStrings,
  attrType,
  decodeWeights,
  dimsOf,
  type TfjsModelJson,
  type TfjsNode,
} from './model-json.js';

export interface TfjsConvertOptions {
  /** TF node names to expose as graph outputs (default: the signature outputs). Only their ancestors are converted. */
  outputs?: string[];
  /** Make dim 0 of the input and outputs symbolic (`batch`); only for graphs without batch-dependent reshapes. */
  dynamicBatch?: boolean;
  /** free text stored in ModelProto.doc_string (provenance) */
  docString?: string;
}

const OPSET = 13;
const BOOL = DataType.BOOL;

interface Info {
  shape: number[];
  type: number; // ONNX DataType
}

export function convertTfjs(model: TfjsModelJson, weightData: Uint8Array, options: TfjsConvertOptions = {}): Uint8Array {
  const conv = new TfjsGraphConverter(model, decodeWeights(model, weightData), options);
  const g = conv.run();
  return encodeModel({
    ...g,
    graphName: 'tfjs',
    opset: OPSET,
    producer: 'frameline-tfjs2onnx',
    docString: options.docString ?? `converted from a TensorFlow.js graph model (${model.generatedBy ?? 'unknown source'})`,
  });
}

/** Parse "node", "node:1", "^control" into a canonical tensor reference "node:k". */
function ref(input: string): string | undefined {
  if (input.startsWith('^')) return undefined;
  const m = /^(.*?)(?::(\d+))?$/.exec(input)!;
  return `${m[1]}:${m[2] ?? '0'}`;
}

function tfType(t: string | undefined, where: string): number {
  switch (t) {
    case 'DT_FLOAT':
      return DataType.FLOAT;
    case 'DT_INT32':
      return DataType.INT32;
    case 'DT_INT64':
      return DataType.INT64;
    case 'DT_BOOL':
      return BOOL;
    default:
      throw new Error(`${where}: unsupported dtype ${t ?? '(none)'}`);
  }
}

function broadcastShapes(a: number[], b: number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    const x = a[a.length - n + k] ?? 1;
    const y = b[b.length - n + k] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`incompatible broadcast shapes [${a}] and [${b}]`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

class TfjsGraphConverter extends OnnxGraphBuilder<string> {
  private byName = new Map<string, TfjsNode>();
  private info = new Map<string, Info>();
  private consts = new Map<string, Const>();
  private readonly outputNames: string[];

  constructor(
    private readonly model: TfjsModelJson,
    private readonly weights: Map<string, Const>,
    private readonly options: TfjsConvertOptions,
  ) {
    super();
    for (const n of model.modelTopology.node) this.byName.set(n.name, n);
    const sig = Object.values(model.signature?.outputs ?? {}).map((o) => o.name.replace(/:0$/, ''));
    this.outputNames = options.outputs ?? sig;
    if (this.outputNames.length === 0) throw new Error('no outputs: the model has no signature, pass options.outputs');
    if ((model.modelTopology.library?.function ?? []).length > 0) {
      throw new Error('graph has a function library (control flow); not supported');
    }
  }

  run(): { nodes: OnnxNode[]; initializers: OnnxTensor[]; inputs: OnnxValueInfo[]; outputs: OnnxValueInfo[] } {
    const order = this.topoOrder();
    const inputs: OnnxValueInfo[] = [];
    for (const n of order) {
      if (n.op === 'Placeholder') inputs.push(this.placeholder(n));
      else this.convertNode(n);
    }
    const outputs = this.outputNames.map((name) => {
      const r = `${name}:0`;
      const inf = this.infoOf(r);
      this.emit('Identity', [this.valueIn(r, 'native')], [name]);
      return { name, elemType: inf.type, dims: this.ioDims(inf.shape) };
    });
    return { nodes: this.nodes, initializers: this.inits, inputs, outputs };
  }

  /** Ancestors of the requested outputs, inputs before consumers. */
  private topoOrder(): TfjsNode[] {
    const out: TfjsNode[] = [];
    const state = new Map<string, number>();
    const visit = (name: string): void => {
      const s = state.get(name);
      if (s === 2) return;
      if (s === 1) throw new Error(`graph has a cycle at "${name}" (control flow is not supported)`);
      const n = this.byName.get(name);
      if (!n) throw new Error(`node "${name}" not found in the graph`);
      state.set(name, 1);
      for (const i of n.input ?? []) {
        const r = ref(i);
        if (r) visit(r.slice(0, r.lastIndexOf(':')));
      }
      state.set(name, 2);
      out.push(n);
    };
    for (const o of this.outputNames) visit(o);
    return out;
  }

  // ---------------------------------------------------------------- tensors

  private ioDims(shape: number[]): (number | string)[] {
    return shape.map((d, k) => (k === 0 && this.options.dynamicBatch ? 'batch' : d));
  }

  private infoOf(r: string): Info {
    const i = this.info.get(r);
    if (!i) throw new Error(`tensor "${r}" is used before it is produced`);
    return i;
  }

  private ins(n: TfjsNode): string[] {
    return (n.input ?? []).map(ref).filter((r): r is string => r !== undefined);
  }

  private in(n: TfjsNode, k: number): string {
    const r = this.ins(n)[k];
    if (r === undefined) throw new Error(`${n.op} "${n.name}": missing input ${k}`);
    return r;
  }

  private constOf(r: string, what: string): Const {
    const c = this.consts.get(r);
    if (!c) throw new Error(`${what}: input "${r}" must be a constant`);
    return c;
  }

  private intsOf(r: string, what: string): number[] {
    return Array.from(this.constOf(r, what).data, Number);
  }

  // ---------------------------------------------------------------- layouts (see OnnxGraphBuilder)

  protected rankOf(r: string): number {
    return this.infoOf(r).shape.length;
  }

  protected constantFor(r: string): Const | undefined {
    return this.consts.get(r);
  }

  protected label(r: string): string {
    return r;
  }

  protected valueName(r: string, layout: Layout): string {
    return `${r}/${layout}`;
  }

  protected constName(r: string, use: ConstUse): string {
    return use === 'broadcast' ? `${r}/bcast` : `${r}/${use}`;
  }

  /** Register output k of node n with its static shape and type; returns its ONNX name. */
  private out(n: TfjsNode, shape: number[], type: number, layout: Layout, k = 0): string {
    const r = `${n.name}:${k}`;
    this.info.set(r, { shape, type });
    return this.produce(r, layout);
  }

  // ---------------------------------------------------------------- nodes

  private placeholder(n: TfjsNode): OnnxValueInfo {
    const shape = dimsOf(n.attr?.shape?.shape);
    if (shape.length === 0 || shape.some((d) => !(d > 0))) {
      throw new Error(`input "${n.name}" has shape [${shape}]: a fully known input shape is required`);
    }
    const type = tfType(attrType(n, 'dtype'), n.name);
    this.info.set(`${n.name}:0`, { shape, type });
    this.values.native.set(`${n.name}:0`, n.name);
    return { name: n.name, elemType: type, dims: this.ioDims(shape) };
  }

  private convertNode(n: TfjsNode): void {
    switch (n.op) {
      case 'Const':
        return this.constNode(n);
      case 'Identity':
      case 'StopGradient':
      case 'NoOp':
        return this.identity(n);
      case 'Conv2D':
      case '_FusedConv2D':
        return this.conv(n, false);
      case 'DepthwiseConv2dNative':
      case 'FusedDepthwiseConv2dNative':
        return this.conv(n, true);
      case 'BiasAdd':
      case 'Add':
      case 'AddV2':
        return this.binary(n, 'Add');
      case 'Sub':
        return this.binary(n, 'Sub');
      case 'Mul':
        return this.binary(n, 'Mul');
      case 'RealDiv':
        return this.binary(n, 'Div');
      case 'Maximum':
        return this.binary(n, 'Max');
      case 'Minimum':
        return this.binary(n, 'Min');
      case 'FloorDiv':
        return this.floorDiv(n);
      case 'FloorMod':
        return this.floorMod(n);
      case 'Equal':
        return this.binary(n, 'Equal', BOOL);
      case 'Greater':
        return this.binary(n, 'Greater', BOOL);
      case 'Less':
        return this.binary(n, 'Less', BOOL);
      case 'Relu':
        return this.unary(n, 'Relu');
      case 'Sigmoid':
        return this.unary(n, 'Sigmoid');
      case 'Tanh':
        return this.unary(n, 'Tanh');
      case 'Exp':
        return this.unary(n, 'Exp');
      case 'Sqrt':
        return this.unary(n, 'Sqrt');
      case 'Relu6':
        return this.relu6(n);
      case 'Cast':
        return this.cast(n);
      case 'MaxPool':
        return this.pool(n, 'MaxPool');
      case 'AvgPool':
        return this.pool(n, 'AveragePool');
      case 'Mean':
        return this.mean(n);
      case 'ResizeBilinear':
        return this.resize(n, 'linear');
      case 'ResizeNearestNeighbor':
        return this.resize(n, 'nearest');
      case 'ConcatV2':
        return this.concat(n);
      case 'Reshape':
        return this.reshape(n);
      case 'ExpandDims':
        return this.expandDims(n);
      case 'Pad':
        return this.pad(n);
      case 'TopKV2':
        return this.topK(n);
      case 'GatherV2':
        return this.gather(n);
      case 'StridedSlice':
        return this.stridedSlice(n);
      default:
        throw new Error(`unsupported TFJS op: ${n.op} (node "${n.name}")`);
    }
  }

  private constNode(n: TfjsNode): void {
    const w = this.weights.get(n.name);
    if (!w) throw new Error(`Const "${n.name}" has no weight in the manifest`);
    const r = `${n.name}:0`;
    this.consts.set(r, w);
    this.info.set(r, { shape: w.shape, type: w.type });
  }

  private identity(n: TfjsNode): void {
    const x = this.in(n, 0);
    const r = `${n.name}:0`;
    this.info.set(r, this.infoOf(x));
    const c = this.consts.get(x);
    if (c) return void this.consts.set(r, c);
    for (const l of ['native', 'nchw'] as const) {
      const v = this.values[l].get(x);
      if (v) this.values[l].set(r, v);
    }
  }

  /** TF SAME: out = ceil(in/stride), extra padding at the end; VALID: none; EXPLICIT: from the attr. */
  private pads2d(n: TfjsNode, inH: number, inW: number, kH: number, kW: number, s: number[], d: number[]): { pads: number[]; outH: number; outW: number } {
    const padding = attrString(n, 'padding') ?? 'VALID';
    if (padding === 'SAME') return { pads: samePads(inH, inW, kH, kW, s, d), outH: Math.ceil(inH / s[0]!), outW: Math.ceil(inW / s[1]!) };
    const ekH = (kH - 1) * d[0]! + 1;
    const ekW = (kW - 1) * d[1]! + 1;
    let pads = [0, 0, 0, 0];
    if (padding === 'EXPLICIT') {
      const e = attrInts(n, 'explicit_paddings') ?? [];
      pads = [e[2] ?? 0, e[4] ?? 0, e[3] ?? 0, e[5] ?? 0];
    } else if (padding !== 'VALID') throw new Error(`${n.op} "${n.name}": unsupported padding ${padding}`);
    return {
      pads,
      outH: Math.floor((inH + pads[0]! + pads[2]! - ekH) / s[0]!) + 1,
      outW: Math.floor((inW + pads[1]! + pads[3]! - ekW) / s[1]!) + 1,
    };
  }

  private checkNhwc(n: TfjsNode): void {
    const f = attrString(n, 'data_format');
    if (f !== undefined && f !== 'NHWC') throw new Error(`${n.op} "${n.name}": data_format ${f} is not supported`);
  }

  private conv(n: TfjsNode, depthwise: boolean): void {
    this.checkNhwc(n);
    const x = this.in(n, 0);
    const [N = 1, inH = 1, inW = 1, inC = 1] = this.infoOf(x).shape;
    const w = this.constOf(this.in(n, 1), `${n.op} filter`);
    let wOnnx: Const;
    if (depthwise) {
      // TF [KH, KW, C, M] → ONNX [C*M, 1, KH, KW]; output channel c*M + m in both.
      const [kh = 1, kw = 1, c = 1, m = 1] = w.shape;
      wOnnx = transposeConst({ ...w, shape: [kh, kw, c * m, 1] }, [2, 3, 0, 1]);
    } else {
      wOnnx = transposeConst(w, [3, 2, 0, 1]); // HWIO → OIHW
    }
    const [outC = 1, , kH = 1, kW = 1] = wOnnx.shape;
    const s4 = attrInts(n, 'strides') ?? [1, 1, 1, 1];
    const d4 = attrInts(n, 'dilations') ?? [1, 1, 1, 1];
    const strides = [s4[1] ?? 1, s4[2] ?? 1];
    const dilations = [d4[1] ?? 1, d4[2] ?? 1];
    const { pads, outH, outW } = this.pads2d(n, inH, inW, kH, kW, strides, dilations);
    const inputs = [this.valueIn(x, 'nchw'), this.constInit(`${n.name}/w`, wOnnx)];
    const fused = attrStrings(n, 'fused_ops');
    if (!n.op.startsWith('Fused') && !n.op.startsWith('_Fused') && fused.length > 0) throw new Error(`${n.op} "${n.name}": unexpected fused_ops`);
    const [first, ...acts] = fused;
    if (first !== undefined) {
      if (first !== 'BiasAdd') throw new Error(`${n.op} "${n.name}": unsupported fused op ${fused.join('+')}`);
      inputs.push(this.constInit(`${n.name}/b`, this.constOf(this.in(n, 2), `${n.op} bias`)));
    }
    if (acts.length > 1) throw new Error(`${n.op} "${n.name}": unsupported fused ops ${fused.join('+')}`);
    const attrs: Record<string, AttrValue> = {
      kernel_shape: [kH, kW],
      strides,
      dilations,
      pads,
      group: depthwise ? inC : 1,
    };
    const y = this.out(n, [N, outH, outW, outC], DataType.FLOAT, 'nchw');
    const act = acts[0];
    if (act === undefined) return this.emit('Conv', inputs, [y], attrs);
    const tmp = this.fresh('preact');
    this.emit('Conv', inputs, [tmp], attrs);
    this.activation(n, act, tmp, y);
  }

  private activation(n: TfjsNode, act: string, x: string, y: string): void {
    switch (act) {
      case 'Relu':
        return this.emit('Relu', [x], [y]);
      case 'Relu6':
        return this.emit('Clip', [x, this.scalar(0), this.scalar(6)], [y]);
      case 'Elu':
        return this.emit('Elu', [x], [y]);
      case 'Sigmoid':
        return this.emit('Sigmoid', [x], [y]);
      case 'Tanh':
        return this.emit('Tanh', [x], [y]);
      case 'LeakyRelu':
        return this.emit('LeakyRelu', [x], [y], { alpha: { float: attrFloat(n, 'leakyrelu_alpha', 0.2) } });
      default:
        throw new Error(`${n.op} "${n.name}": unsupported fused activation ${act}`);
    }
  }

  private binary(n: TfjsNode, onnxOp: string, outType?: number): void {
    const a = this.in(n, 0);
    const b = this.in(n, 1);
    const ia = this.infoOf(a);
    const ib = this.infoOf(b);
    const shape = broadcastShapes(ia.shape, ib.shape);
    const type = outType ?? ia.type;
    if (shape.length === 4) {
      const inputs = [this.broadcastNchw(a), this.broadcastNchw(b)];
      return this.emit(onnxOp, inputs, [this.out(n, shape, type, 'nchw')]);
    }
    const inputs = [this.valueIn(a, 'native'), this.valueIn(b, 'native')];
    this.emit(onnxOp, inputs, [this.out(n, shape, type, 'native')]);
  }

  /** Integer operands only, assumed non-negative (ONNX integer Div truncates). Floats: Floor(Div). */
  private floorDiv(n: TfjsNode): void {
    const a = this.in(n, 0);
    if (this.infoOf(a).type !== DataType.FLOAT) return this.binary(n, 'Div');
    this.binary(n, 'Div');
    const r = `${n.name}:0`;
    const v = this.anyValue(r);
    const floored = `${v.name}/floor`;
    this.emit('Floor', [v.name], [floored]);
    this.values[v.layout].set(r, floored);
  }

  private floorMod(n: TfjsNode): void {
    if (this.infoOf(this.in(n, 0)).type === DataType.FLOAT) throw new Error(`FloorMod "${n.name}" on floats is not supported`);
    this.binary(n, 'Mod'); // integer Mod with fmod=0 takes the divisor's sign, like TF FloorMod
  }

  private unary(n: TfjsNode, onnxOp: string): void {
    const x = this.in(n, 0);
    const v = this.anyValue(x);
    const inf = this.infoOf(x);
    this.emit(onnxOp, [v.name], [this.out(n, inf.shape, inf.type, v.layout)]);
  }

  private relu6(n: TfjsNode): void {
    const x = this.in(n, 0);
    const v = this.anyValue(x);
    const inf = this.infoOf(x);
    this.emit('Clip', [v.name, this.scalar(0), this.scalar(6)], [this.out(n, inf.shape, inf.type, v.layout)]);
  }

  private cast(n: TfjsNode): void {
    const x = this.in(n, 0);
    const v = this.anyValue(x);
    const to = tfType(attrType(n, 'DstT'), n.name);
    this.emit('Cast', [v.name], [this.out(n, this.infoOf(x).shape, to, v.layout)], { to });
  }

  private pool(n: TfjsNode, onnxOp: string): void {
    this.checkNhwc(n);
    const x = this.in(n, 0);
    const [N = 1, inH = 1, inW = 1, C = 1] = this.infoOf(x).shape;
    const k4 = attrInts(n, 'ksize') ?? [1, 1, 1, 1];
    const s4 = attrInts(n, 'strides') ?? [1, 1, 1, 1];
    const kernel = [k4[1] ?? 1, k4[2] ?? 1];
    const strides = [s4[1] ?? 1, s4[2] ?? 1];
    const { pads, outH, outW } = this.pads2d(n, inH, inW, kernel[0]!, kernel[1]!, strides, [1, 1]);
    // TF pools only over valid pixels: ONNX MaxPool ignores pads, AveragePool count_include_pad=0 (default).
    const y = this.out(n, [N, outH, outW, C], DataType.FLOAT, 'nchw');
    this.emit(onnxOp, [this.valueIn(x, 'nchw')], [y], { kernel_shape: kernel, strides, pads });
  }

  private mean(n: TfjsNode): void {
    const x = this.in(n, 0);
    const shape = this.infoOf(x).shape;
    const rank = shape.length;
    const axes = this.intsOf(this.in(n, 1), 'Mean axes').map((a) => (a < 0 ? a + rank : a));
    const keep = attrBool(n, 'keep_dims');
    const outShape = keep ? shape.map((d, k) => (axes.includes(k) ? 1 : d)) : shape.filter((_, k) => !axes.includes(k));
    if (rank === 4 && keep) {
      const y = this.out(n, outShape, DataType.FLOAT, 'nchw');
      return this.emit('ReduceMean', [this.valueIn(x, 'nchw')], [y], { axes: axes.map((a) => onnxAxis(a, 4)), keepdims: 1 });
    }
    const y = this.out(n, outShape, DataType.FLOAT, 'native');
    this.emit('ReduceMean', [this.valueIn(x, 'native')], [y], { axes, keepdims: keep ? 1 : 0 });
  }

  private resize(n: TfjsNode, mode: 'linear' | 'nearest'): void {
    const x = this.in(n, 0);
    const [N = 1, inH = 1, inW = 1, C = 1] = this.infoOf(x).shape;
    const [outH = 1, outW = 1] = this.intsOf(this.in(n, 1), `${n.op} size`);
    const alignCorners = attrBool(n, 'align_corners');
    const halfPixel = attrBool(n, 'half_pixel_centers');
    const xv = this.valueIn(x, 'nchw');
    this.emitTfResize(xv, this.out(n, [N, outH, outW, C], DataType.FLOAT, 'nchw'), [N, C, inH, inW], [outH, outW], mode, alignCorners, halfPixel);
  }

  private concat(n: TfjsNode): void {
    const all = this.ins(n);
    const axisRef = all[all.length - 1]!;
    const xs = all.slice(0, -1);
    const first = this.infoOf(xs[0]!);
    const rank = first.shape.length;
    let axis = this.intsOf(axisRef, 'ConcatV2 axis')[0] ?? 0;
    if (axis < 0) axis += rank;
    const shape = [...first.shape];
    shape[axis] = xs.reduce((s, r) => s + (this.infoOf(r).shape[axis] ?? 0), 0);
    const layout: Layout = rank === 4 ? 'nchw' : 'native';
    const inputs = xs.map((r) => this.valueIn(r, layout));
    this.emit('Concat', inputs, [this.out(n, shape, first.type, layout)], { axis: onnxAxis(axis, rank) });
  }

  private reshape(n: TfjsNode): void {
    const x = this.in(n, 0);
    const inf = this.infoOf(x);
    const target = this.intsOf(this.in(n, 1), 'Reshape shape');
    const total = inf.shape.reduce((a, b) => a * b, 1);
    const known = target.reduce((a, b) => (b === -1 ? a : a * b), 1);
    const shape = target.map((d) => (d === -1 ? total / known : d));
    const onnxTarget = [...shape];
    if (this.options.dynamicBatch && onnxTarget.length > 0 && inf.shape[0] === onnxTarget[0]) onnxTarget[0] = 0;
    this.emit('Reshape', [this.valueIn(x, 'native'), this.int64Init('shape', onnxTarget)], [this.out(n, shape, inf.type, 'native')]);
  }

  private expandDims(n: TfjsNode): void {
    const x = this.in(n, 0);
    const inf = this.infoOf(x);
    let axis = this.intsOf(this.in(n, 1), 'ExpandDims dim')[0] ?? 0;
    if (axis < 0) axis += inf.shape.length + 1;
    const shape = [...inf.shape.slice(0, axis), 1, ...inf.shape.slice(axis)];
    this.emit('Unsqueeze', [this.valueIn(x, 'native'), this.int64Init('axes', [axis])], [this.out(n, shape, inf.type, 'native')]);
  }

  private pad(n: TfjsNode): void {
    const x = this.in(n, 0);
    const inf = this.infoOf(x);
    const pairs = this.intsOf(this.in(n, 1), 'Pad paddings');
    const rank = inf.shape.length;
    const pads = onnxPads(pairs);
    const shape = inf.shape.map((d, k) => d + pairs[2 * k]! + pairs[2 * k + 1]!);
    const layout: Layout = rank === 4 ? 'nchw' : 'native';
    const xv = this.valueIn(x, layout);
    this.emit('Pad', [xv, this.int64Init('pads', pads)], [this.out(n, shape, inf.type, layout)], { mode: 'constant' });
  }

  /** TopKV2 along the last axis; indices are cast back to TF's int32. */
  private topK(n: TfjsNode): void {
    const x = this.in(n, 0);
    const inf = this.infoOf(x);
    const k = this.intsOf(this.in(n, 1), 'TopKV2 k')[0] ?? 1;
    if (!attrBool(n, 'sorted', true)) throw new Error(`TopKV2 "${n.name}": sorted=false is not supported`);
    const shape = [...inf.shape.slice(0, -1), k];
    const values = this.out(n, shape, inf.type, 'native', 0);
    const idx64 = this.fresh('topk_idx');
    this.emit('TopK', [this.valueIn(x, 'native'), this.int64Init('k', [k])], [values, idx64], { axis: -1, largest: 1, sorted: 1 });
    this.emit('Cast', [idx64], [this.out(n, shape, DataType.INT32, 'native', 1)], { to: DataType.INT32 });
  }

  private gather(n: TfjsNode): void {
    const p = this.in(n, 0);
    const idx = this.in(n, 1);
    if (attrInt(n, 'batch_dims', 0) !== 0) throw new Error(`GatherV2 "${n.name}": batch_dims != 0 is not supported`);
    const pi = this.infoOf(p);
    let axis = this.intsOf(this.in(n, 2), 'GatherV2 axis')[0] ?? 0;
    if (axis < 0) axis += pi.shape.length;
    const shape = [...pi.shape.slice(0, axis), ...this.infoOf(idx).shape, ...pi.shape.slice(axis + 1)];
    const inputs = [this.valueIn(p, 'native'), this.valueIn(idx, 'native')];
    this.emit('Gather', inputs, [this.out(n, shape, pi.type, 'native')], { axis });
  }

  private stridedSlice(n: TfjsNode): void {
    const x = this.in(n, 0);
    const inf = this.infoOf(x);
    const begin = this.intsOf(this.in(n, 1), 'StridedSlice begin');
    const end = this.intsOf(this.in(n, 2), 'StridedSlice end');
    const steps = this.intsOf(this.in(n, 3), 'StridedSlice strides');
    if (attrInt(n, 'ellipsis_mask', 0) !== 0 || attrInt(n, 'new_axis_mask', 0) !== 0) {
      throw new Error(`StridedSlice "${n.name}": ellipsis_mask/new_axis_mask are not supported`);
    }
    const bm = attrInt(n, 'begin_mask', 0);
    const em = attrInt(n, 'end_mask', 0);
    const sm = attrInt(n, 'shrink_axis_mask', 0);
    const starts: number[] = [];
    const ends: number[] = [];
    const shape: number[] = [];
    const squeeze: number[] = [];
    const BIG = 2 ** 31 - 1;
    for (let k = 0; k < begin.length; k++) {
      const dim = inf.shape[k] ?? 1;
      const st = steps[k] ?? 1;
      let b = bm & (1 << k) ? (st > 0 ? 0 : BIG) : begin[k]!;
      let e = em & (1 << k) ? (st > 0 ? BIG : -BIG) : end[k]!;
      if (sm & (1 << k)) {
        e = b < 0 ? (b === -1 ? BIG : b + 1) : b + 1;
        squeeze.push(k);
      }
      starts.push(b);
      ends.push(e);
      // static output size
      const norm = (v: number, lo: number, hi: number): number => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
      b = st > 0 ? norm(b, 0, dim) : norm(b, -1, dim - 1);
      const ee = st > 0 ? norm(e, 0, dim) : norm(e, -1, dim - 1);
      shape.push(Math.max(0, Math.ceil((ee - b) / st)));
    }
    for (let k = begin.length; k < inf.shape.length; k++) shape.push(inf.shape[k]!);
    const axes = starts.map((_, k) => k);
    const inputs = [this.valueIn(x, 'native'), this.int64Init('starts', starts), this.int64Init('ends', ends), this.int64Init('axes', axes), this.int64Init('steps', steps)];
    const outShape = shape.filter((_, k) => !squeeze.includes(k));
    if (squeeze.length === 0) return this.emit('Slice', inputs, [this.out(n, outShape, inf.type, 'native')]);
    const tmp = this.fresh('slice');
    this.emit('Slice', inputs, [tmp]);
    this.emit('Squeeze', [tmp, this.int64Init('axes', squeeze)], [this.out(n, outShape, inf.type, 'native')]);
  }
}
