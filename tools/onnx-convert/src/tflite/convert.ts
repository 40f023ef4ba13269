/**
 * TFLite → ONNX graph conversion. The layout strategy (NHWC outside, NCHW
 * inside, lazy Transposes) is OnnxGraphBuilder's; graph inputs, RESHAPE and
 * graph outputs are the usual NHWC points. Constant tensors (weights, fp16
 * DEQUANTIZE, DENSIFY) are evaluated at conversion time.
 */
import { decodeBuffer, densify, dequantize } from './constants.js';
import { type AttrValue, DataType, encodeModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from '../onnx/onnx-proto.js';
import { type ConstUse, type Layout, OnnxGraphBuilder, onnxAxis, onnxPads, samePads, TO_NCHW } from '../onnx/onnx-graph.js';
import { type Const, numel, transposeConst } from '../onnx/tensor.js';
import { Activation, type Model, Op, opName, type Operator, Padding, parseModel, type SubGraph, type Tensor, TensorType } from './schema.js';
import type { FbTable } from './flatbuffers.js';

export interface ConvertOptions {
  /**
   * Make the leading (batch) dimension of inputs and outputs symbolic so
   * several frames/crops can run in one call. TFLite models are exported with
   * batch 1; every op handled here is batch-agnostic once reshapes copy dim 0.
   */
  dynamicBatch?: boolean;
  /** free text stored in ModelProto.doc_string (provenance) */
  docString?: string;
}

const OPSET = 13;

export function convertTflite(buf: Uint8Array, options: ConvertOptions = {}): Uint8Array {
  const model = parseModel(buf);
  const sg = model.subgraphs[0];
  if (!sg) throw new Error('TFLite model has no subgraph');
  if (model.subgraphs.length > 1) throw new Error('TFLite models with several subgraphs (control flow) are not supported');
  const conv = new GraphConverter(model, sg, options.dynamicBatch ?? true);
  return encodeModel({
    ...conv.run(),
    graphName: sg.name || 'tflite',
    opset: OPSET,
    producer: 'frameline-tflite2onnx',
    docString: options.docString ?? model.description,
  });
}

interface ConvertedGraph {
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

class GraphConverter extends OnnxGraphBuilder<number> {
  /** tensor index → constant value (from buffers or folded ops) */
  private consts = new Map<number, Const>();

  constructor(
    private readonly model: Model,
    private readonly sg: SubGraph,
    private readonly dynamicBatch: boolean,
  ) {
    super();
  }

  run(): ConvertedGraph {
    this.loadConstants();
    const inputs = this.sg.inputs.map((i) => this.graphInput(i));
    for (const op of this.sg.operators) this.convertOp(op);
    const outputs = this.sg.outputs.map((o) => this.graphOutput(o));
    return { nodes: this.nodes, initializers: this.inits, inputs, outputs };
  }

  // ---------------------------------------------------------------- tensors

  private tensor(i: number): Tensor {
    const t = this.sg.tensors[i];
    if (!t) throw new Error(`operator references missing tensor ${i}`);
    return t;
  }

  private shape(i: number): number[] {
    return this.tensor(i).shape;
  }

  private loadConstants(): void {
    for (const t of this.sg.tensors) {
      const raw = this.model.buffers[t.buffer];
      if (t.buffer === 0 || !raw || raw.length === 0) continue;
      this.consts.set(t.index, decodeBuffer(t, raw));
    }
  }

  private constOf(i: number, what: string): Const {
    const c = this.consts.get(i);
    if (!c) throw new Error(`${what}: tensor "${this.tensor(i).name}" must be constant`);
    if (this.tensor(i).sparsity) throw new Error(`${what}: tensor "${this.tensor(i).name}" is sparse but not DENSIFY'd`);
    return c;
  }

  private floatConst(i: number, what: string): Const {
    const c = this.constOf(i, what);
    if (c.type === DataType.FLOAT) return c;
    // Weights may be stored as fp16 without an explicit DEQUANTIZE op.
    return dequantize(c, this.tensor(i).quantization, this.tensor(i).name);
  }

  private intConst(i: number, what: string): number[] {
    const c = this.constOf(i, what);
    if (c.type !== DataType.INT32) throw new Error(`${what}: tensor "${this.tensor(i).name}" must be int32`);
    return Array.from(c.data);
  }

  // ---------------------------------------------------------------- layouts (see OnnxGraphBuilder)

  protected rankOf(i: number): number {
    return this.shape(i).length;
  }

  protected constantFor(i: number, use: ConstUse): Const | undefined {
    const c = this.consts.get(i);
    // Transposed copies are made from float data: fp16 weights are widened first.
    return c && use !== 'native' && c.type === DataType.FLOAT16 ? this.floatConst(i, 'constant') : c;
  }

  protected label(i: number): string {
    return this.tensor(i).name;
  }

  protected valueName(i: number, layout: Layout, madeBy: 'op' | 'transpose'): string {
    return madeBy === 'op' && layout === 'native' ? `t${i}` : `t${i}_${layout}`;
  }

  protected constName(i: number, use: ConstUse): string {
    return use === 'broadcast' ? `c${i}_bcast` : `c${i}_${use}`;
  }

  // ---------------------------------------------------------------- graph I/O

  private ioDims(i: number): (number | string)[] {
    const s = this.shape(i);
    return s.map((d, k) => (k === 0 && this.dynamicBatch ? 'batch' : d));
  }

  private graphInput(i: number): OnnxValueInfo {
    const t = this.tensor(i);
    this.values.native.set(i, t.name);
    return { name: t.name, elemType: onnxTypeOf(t.type), dims: this.ioDims(i) };
  }

  private graphOutput(i: number): OnnxValueInfo {
    const t = this.tensor(i);
    this.emit('Identity', [this.valueIn(i, 'native')], [t.name]);
    return { name: t.name, elemType: onnxTypeOf(t.type), dims: this.ioDims(i) };
  }

  // ---------------------------------------------------------------- ops

  private convertOp(op: Operator): void {
    const o = op.options;
    switch (op.opcode) {
      case Op.CONV_2D:
        return this.conv(op, false, o);
      case Op.DEPTHWISE_CONV_2D:
        return this.conv(op, true, o);
      case Op.MAX_POOL_2D:
        return this.pool(op, 'MaxPool', o);
      case Op.AVERAGE_POOL_2D:
        return this.pool(op, 'AveragePool', o);
      case Op.ADD:
        return this.binary(op, 'Add', o?.i8(0) ?? 0);
      case Op.SUB:
        return this.binary(op, 'Sub', o?.i8(0) ?? 0);
      case Op.MUL:
        return this.binary(op, 'Mul', o?.i8(0) ?? 0);
      case Op.PRELU:
        return this.binary(op, 'PRelu', Activation.NONE);
      case Op.LOGISTIC:
        return this.unary(op, 'Sigmoid');
      case Op.TANH:
        return this.unary(op, 'Tanh');
      case Op.RELU:
        return this.unary(op, 'Relu');
      case Op.RELU6:
      case Op.RELU_N1_TO_1:
        return this.clip(op, op.opcode === Op.RELU6 ? 0 : -1, op.opcode === Op.RELU6 ? 6 : 1);
      case Op.HARD_SWISH:
        return this.hardSwish(op);
      case Op.PAD:
        return this.pad(op);
      case Op.RESHAPE:
        return this.reshape(op);
      case Op.CONCATENATION:
        return this.concat(op, o);
      case Op.DEPTH_TO_SPACE:
        return this.spaceDepth(op, 'DepthToSpace', o);
      case Op.SPACE_TO_DEPTH:
        return this.spaceDepth(op, 'SpaceToDepth', o);
      case Op.RESIZE_BILINEAR:
        return this.resize(op, 'linear', o);
      case Op.RESIZE_NEAREST_NEIGHBOR:
        return this.resize(op, 'nearest', o);
      case Op.SOFTMAX:
        return this.softmax(op, o);
      case Op.FULLY_CONNECTED:
        return this.fullyConnected(op, o);
      case Op.DEQUANTIZE:
        return this.dequantizeOp(op);
      case Op.DENSIFY:
        return this.densifyOp(op);
      case Op.CUSTOM:
        throw new Error(`unsupported TFLite op: CUSTOM "${op.customCode ?? '?'}"`);
      default:
        throw new Error(`unsupported TFLite op: ${opName(op.opcode)} (builtin code ${op.opcode})`);
    }
  }

  private in0(op: Operator): number {
    const i = op.inputs[0];
    if (i === undefined || i < 0) throw new Error(`${opName(op.opcode)}: missing input`);
    return i;
  }

  private out0(op: Operator): number {
    const i = op.outputs[0];
    if (i === undefined) throw new Error(`${opName(op.opcode)}: missing output`);
    return i;
  }

  /** Emit the op into `final`, or into a temporary followed by the fused activation. */
  private withActivation(act: number, final: string, body: (out: string) => void): void {
    if (act === Activation.NONE) return body(final);
    const tmp = this.fresh('preact');
    body(tmp);
    switch (act) {
      case Activation.RELU:
        return this.emit('Relu', [tmp], [final]);
      case Activation.RELU6:
        return this.emit('Clip', [tmp, this.scalar(0), this.scalar(6)], [final]);
      case Activation.RELU_N1_TO_1:
        return this.emit('Clip', [tmp, this.scalar(-1), this.scalar(1)], [final]);
      case Activation.TANH:
        return this.emit('Tanh', [tmp], [final]);
      default:
        throw new Error(`unsupported fused activation function ${act}`);
    }
  }

  /** TFLite SAME or VALID padding of a conv/pool window, as ONNX pads. */
  private pads2d(inH: number, inW: number, kH: number, kW: number, o: FbTable | undefined, ids: PoolIds): number[] {
    if ((o?.i8(ids.padding) ?? Padding.SAME) === Padding.VALID) return [0, 0, 0, 0];
    const strides = [o?.i32(ids.strideH, 1) ?? 1, o?.i32(ids.strideW, 1) ?? 1];
    const dilations = [ids.dilH === undefined ? 1 : (o?.i32(ids.dilH, 1) ?? 1), ids.dilW === undefined ? 1 : (o?.i32(ids.dilW, 1) ?? 1)];
    return samePads(inH, inW, kH, kW, strides, dilations);
  }

  private conv(op: Operator, depthwise: boolean, o: FbTable | undefined): void {
    const [x, w, b] = op.inputs;
    if (x === undefined || w === undefined) throw new Error('CONV: missing inputs');
    // Conv2DOptions: padding 0, stride_w 1, stride_h 2, act 3, dil_w 4, dil_h 5.
    // DepthwiseConv2DOptions: padding 0, stride_w 1, stride_h 2, depth_multiplier 3, act 4, dil_w 5, dil_h 6.
    const ids: PoolIds = depthwise
      ? { padding: 0, strideW: 1, strideH: 2, act: 4, dilW: 5, dilH: 6 }
      : { padding: 0, strideW: 1, strideH: 2, act: 3, dilW: 4, dilH: 5 };
    const [, inH = 0, inW = 0, inC = 0] = this.shape(x);
    const wc = this.floatConst(w, 'CONV weights');
    // TFLite weights: CONV_2D [O,KH,KW,I], DEPTHWISE [1,KH,KW,C*M]; ONNX wants [O,I/group,KH,KW].
    const wOnnx = transposeConst(wc, depthwise ? [3, 0, 1, 2] : TO_NCHW);
    const [, , kH = 1, kW = 1] = wOnnx.shape;
    const inputs = [this.valueIn(x, 'nchw'), this.constInit(`c${w}_w`, wOnnx)];
    if (b !== undefined && b >= 0) inputs.push(this.constInit(`c${b}_b`, this.floatConst(b, 'CONV bias')));
    const attrs: Record<string, AttrValue> = {
      kernel_shape: [kH, kW],
      strides: [o?.i32(ids.strideH, 1) ?? 1, o?.i32(ids.strideW, 1) ?? 1],
      dilations: [o?.i32(ids.dilH!, 1) ?? 1, o?.i32(ids.dilW!, 1) ?? 1],
      pads: this.pads2d(inH, inW, kH, kW, o, ids),
      group: depthwise ? inC : 1,
    };
    const y = this.produce(this.out0(op), 'nchw');
    this.withActivation(o?.i8(ids.act) ?? 0, y, (dst) => this.emit('Conv', inputs, [dst], attrs));
  }

  private pool(op: Operator, onnxOp: string, o: FbTable | undefined): void {
    // Pool2DOptions: padding 0, stride_w 1, stride_h 2, filter_w 3, filter_h 4, act 5.
    const ids: PoolIds = { padding: 0, strideW: 1, strideH: 2, act: 5 };
    const x = this.in0(op);
    const [, inH = 0, inW = 0] = this.shape(x);
    const kW = o?.i32(3, 1) ?? 1;
    const kH = o?.i32(4, 1) ?? 1;
    const attrs: Record<string, AttrValue> = {
      kernel_shape: [kH, kW],
      strides: [o?.i32(2, 1) ?? 1, o?.i32(1, 1) ?? 1],
      pads: this.pads2d(inH, inW, kH, kW, o, ids),
    };
    // TFLite averages only over valid (unpadded) pixels: ONNX count_include_pad=0, the default.
    const xv = this.valueIn(x, 'nchw');
    const y = this.produce(this.out0(op), 'nchw');
    this.withActivation(o?.i8(5) ?? 0, y, (dst) => this.emit(onnxOp, [xv], [dst], attrs));
  }

  private binary(op: Operator, onnxOp: string, act: number): void {
    const [a, b] = op.inputs;
    if (a === undefined || b === undefined) throw new Error(`${onnxOp}: needs two inputs`);
    const yIdx = this.out0(op);
    let inputs: string[];
    let layout: Layout;
    if (this.is4d(yIdx)) {
      inputs = [this.broadcastNchw(a), this.broadcastNchw(b)];
      layout = 'nchw';
    } else {
      inputs = [this.valueIn(a, 'native'), this.valueIn(b, 'native')];
      layout = 'native';
    }
    const y = this.produce(yIdx, layout);
    this.withActivation(act, y, (dst) => this.emit(onnxOp, inputs, [dst]));
  }

  private unary(op: Operator, onnxOp: string): void {
    const x = this.anyValue(this.in0(op));
    this.emit(onnxOp, [x.name], [this.produce(this.out0(op), x.layout)]);
  }

  /** x * relu6(x + 3) / 6, via HardSigmoid because HardSwish needs opset 14. */
  private hardSwish(op: Operator): void {
    const x = this.anyValue(this.in0(op));
    const gate = this.fresh('hsig');
    this.emit('HardSigmoid', [x.name], [gate], { alpha: { float: 1 / 6 }, beta: { float: 0.5 } });
    this.emit('Mul', [x.name, gate], [this.produce(this.out0(op), x.layout)]);
  }

  private clip(op: Operator, lo: number, hi: number): void {
    const x = this.anyValue(this.in0(op));
    this.emit('Clip', [x.name, this.scalar(lo), this.scalar(hi)], [this.produce(this.out0(op), x.layout)]);
  }

  private pad(op: Operator): void {
    const [x, p] = op.inputs;
    if (x === undefined || p === undefined) throw new Error('PAD: needs paddings');
    const pairs = this.intConst(p, 'PAD paddings'); // [rank, 2] as (before, after) per NHWC dim
    const layout: Layout = pairs.length === 8 ? 'nchw' : 'native';
    const xv = this.valueIn(x, layout);
    this.emit('Pad', [xv, this.int64Init('pads', onnxPads(pairs))], [this.produce(this.out0(op), layout)], { mode: 'constant' });
  }

  private reshape(op: Operator): void {
    const x = this.in0(op);
    const yIdx = this.out0(op);
    const target = [...this.shape(yIdx)];
    // ONNX Reshape copies a 0 from the input's dim: keeps the batch symbolic.
    if (this.dynamicBatch && target.length > 0 && this.shape(x)[0] === target[0]) target[0] = 0;
    const xv = this.valueIn(x, 'native');
    this.emit('Reshape', [xv, this.int64Init('shape', target)], [this.produce(yIdx, 'native')]);
  }

  private concat(op: Operator, o: FbTable | undefined): void {
    // ConcatenationOptions: axis 0, fused_activation_function 1.
    const yIdx = this.out0(op);
    const rank = this.shape(yIdx).length;
    let axis = o?.i32(0) ?? 0;
    if (axis < 0) axis += rank;
    const layout: Layout = rank === 4 ? 'nchw' : 'native';
    const inputs = op.inputs.map((i) => this.valueIn(i, layout));
    const y = this.produce(yIdx, layout);
    this.withActivation(o?.i8(1) ?? 0, y, (dst) => this.emit('Concat', inputs, [dst], { axis: onnxAxis(axis, rank) }));
  }

  /** TF's channel order (block row, block col, channel) is ONNX DepthToSpace mode DCR. */
  private spaceDepth(op: Operator, onnxOp: string, o: FbTable | undefined): void {
    const blocksize = o?.i32(0) ?? 0;
    if (blocksize < 1) throw new Error(`${onnxOp}: invalid block_size`);
    const xv = this.valueIn(this.in0(op), 'nchw');
    const attrs: Record<string, AttrValue> = onnxOp === 'DepthToSpace' ? { blocksize, mode: 'DCR' } : { blocksize };
    this.emit(onnxOp, [xv], [this.produce(this.out0(op), 'nchw')], attrs);
  }

  private resize(op: Operator, mode: 'linear' | 'nearest', o: FbTable | undefined): void {
    // Resize{Bilinear,NearestNeighbor}Options: align_corners 2, half_pixel_centers 3 (bilinear);
    // nearest: align_corners 0, half_pixel_centers 1.
    const alignCorners = mode === 'linear' ? (o?.bool(2) ?? false) : (o?.bool(0) ?? false);
    const halfPixel = mode === 'linear' ? (o?.bool(3) ?? false) : (o?.bool(1) ?? false);
    const x = this.in0(op);
    const yIdx = this.out0(op);
    const [n = 1, inH = 1, inW = 1, c = 1] = this.shape(x);
    const [, outH = 1, outW = 1] = this.shape(yIdx);
    this.emitTfResize(this.valueIn(x, 'nchw'), this.produce(yIdx, 'nchw'), [n, c, inH, inW], [outH, outW], mode, alignCorners, halfPixel);
  }

  private softmax(op: Operator, o: FbTable | undefined): void {
    const beta = o?.f32(0, 1) ?? 1; // SoftmaxOptions.beta
    if (beta !== 1) throw new Error('SOFTMAX with beta != 1 is not supported');
    const x = this.anyValue(this.in0(op));
    const axis = x.layout === 'nchw' ? 1 : -1; // TFLite softmax is over the last (channel) axis
    this.emit('Softmax', [x.name], [this.produce(this.out0(op), x.layout)], { axis });
  }

  private fullyConnected(op: Operator, o: FbTable | undefined): void {
    // FullyConnectedOptions: fused_activation_function 0, weights_format 1, keep_num_dims 2.
    const [x, w, b] = op.inputs;
    if (x === undefined || w === undefined) throw new Error('FULLY_CONNECTED: missing inputs');
    const wc = this.floatConst(w, 'FULLY_CONNECTED weights'); // [O, K]
    const k = wc.shape[1] ?? 0;
    const flat = this.fresh('fc_in');
    this.emit('Reshape', [this.valueIn(x, 'native'), this.int64Init('shape', [-1, k])], [flat]);
    const inputs = [flat, this.constInit(`c${w}_fc`, wc)];
    if (b !== undefined && b >= 0) inputs.push(this.constInit(`c${b}_b`, this.floatConst(b, 'FULLY_CONNECTED bias')));
    const yIdx = this.out0(op);
    if (this.shape(yIdx).length !== 2) throw new Error('FULLY_CONNECTED with keep_num_dims is not supported');
    const y = this.produce(yIdx, 'native');
    this.withActivation(o?.i8(0) ?? 0, y, (dst) => this.emit('Gemm', inputs, [dst], { transB: 1 }));
  }

  private dequantizeOp(op: Operator): void {
    const x = this.in0(op);
    const yIdx = this.out0(op);
    const c = this.consts.get(x);
    if (c) {
      this.consts.set(yIdx, dequantize(c, this.tensor(x).quantization, this.tensor(x).name));
      return;
    }
    if (this.tensor(x).type !== TensorType.FLOAT16) throw new Error('DEQUANTIZE of a non-constant integer tensor is not supported');
    const xv = this.anyValue(x);
    this.emit('Cast', [xv.name], [this.produce(yIdx, xv.layout)], { to: DataType.FLOAT });
  }

  private densifyOp(op: Operator): void {
    const x = this.in0(op);
    const t = this.tensor(x);
    const c = this.consts.get(x);
    if (!c || !t.sparsity) throw new Error(`DENSIFY: input "${t.name}" must be a constant sparse tensor`);
    const yIdx = this.out0(op);
    const dense = densify(c, t.sparsity, this.shape(yIdx));
    if (numel(dense.shape) !== dense.data.length) throw new Error('DENSIFY: size mismatch');
    this.consts.set(yIdx, dense);
  }
}

/** Option field ids shared by conv and pool option tables. */
interface PoolIds {
  padding: number;
  strideW: number;
  strideH: number;
  act: number;
  dilW?: number;
  dilH?: number;
}

function onnxTypeOf(tfliteType: number): number {
  switch (tfliteType) {
    case TensorType.FLOAT32:
      return DataType.FLOAT;
    case TensorType.FLOAT16:
      return DataType.FLOAT16;
    case TensorType.INT32:
      return DataType.INT32;
    case TensorType.INT64:
      return DataType.INT64;
    case TensorType.INT8:
      return DataType.INT8;
    case TensorType.UINT8:
      return DataType.UINT8;
    default:
      throw new Error(`unsupported TFLite tensor type ${tfliteType}`);
  }
}
