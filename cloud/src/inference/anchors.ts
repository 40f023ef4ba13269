/**
 * SSD anchors as MediaPipe's SsdAnchorsCalculator builds them. Only the parts
 * the BlazePose detector uses are implemented: fixed-size anchors (w = h = 1),
 * so only the centres matter.
 */

export interface AnchorConfig {
  inputSize: number;
  strides: number[];
  /** anchors per feature-map cell contributed by each layer */
  anchorsPerLayer: number;
  offset: number;
}

/** `pose_detection_cpu.pbtxt`: 5 layers, aspect ratio 1 plus one interpolated scale → 2 anchors per layer. */
export const POSE_DETECTOR_ANCHORS: AnchorConfig = {
  inputSize: 224,
  strides: [8, 16, 32, 32, 32],
  anchorsPerLayer: 2,
  offset: 0.5,
};

/**
 * Anchor centres, normalised to the input, as a flat [x0, y0, x1, y1, ...].
 * Consecutive layers with the same stride share one feature map, and their
 * anchors are interleaved per cell: order is layer group, row, column, anchor.
 */
export function generateAnchors(config: AnchorConfig): Float32Array {
  const out: number[] = [];
  let layer = 0;
  while (layer < config.strides.length) {
    const stride = config.strides[layer]!;
    let last = layer;
    while (last + 1 < config.strides.length && config.strides[last + 1] === stride) last++;
    const perCell = (last - layer + 1) * config.anchorsPerLayer;
    const cells = Math.ceil(config.inputSize / stride);
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let a = 0; a < perCell; a++) out.push((x + config.offset) / cells, (y + config.offset) / cells);
      }
    }
    layer = last + 1;
  }
  return Float32Array.from(out);
}
