// Reference outputs recorded by an original runtime (LiteRT, tfjs) in the
// fixtures' ref_*.json files, and how our ONNX outputs are compared to them.

/** One recorded output: all values when small, else evenly strided samples. */
export interface OutputRef {
  shape: number[];
  min: number;
  max: number;
  mean: number;
  values?: number[];
  sampleStride?: number;
  samples?: number[];
}

/** The reference values we have for an output, paired with ours at the same flat indices. */
export function pairs(ref: OutputRef, ours: Float32Array): { want: number; got: number }[] {
  if (ref.values) return ref.values.map((want, i) => ({ want, got: ours[i]! }));
  const stride = ref.sampleStride ?? 1;
  return (ref.samples ?? []).map((want, k) => ({ want, got: ours[k * stride]! }));
}

export function maxAbsDiff(ref: OutputRef, ours: Float32Array): number {
  let worst = 0;
  for (const { want, got } of pairs(ref, ours)) worst = Math.max(worst, Math.abs(want - got));
  return worst;
}
