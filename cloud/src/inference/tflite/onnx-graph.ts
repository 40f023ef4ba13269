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

  protected scalar(v: number): string {
    return this.addInit(`scalar_${v}`, DataType.FLOAT, [], new Uint8Array(Float32Array.of(v).buffer));
  }
}
