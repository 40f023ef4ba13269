/**
 * Resampling of raw RGB frames straight into model input tensors. One affine
 * sampler serves every step: the detector's letterbox and tiles are scaled
 * squares, the landmark crop is a rotated square. Doing it on the raw buffer
 * avoids a sharp round trip per tile and per person.
 */
import type { DecodedImage } from './types.js';

/**
 * Maps output pixel centres to frame coordinates: frame = origin + u·ux + v·vx,
 * where (u, v) are output pixel centres (0.5, 1.5, ...). Frame coordinates are
 * continuous: pixel i covers [i, i+1).
 */
export interface Affine {
  originX: number;
  originY: number;
  /** frame step per output column */
  uxX: number;
  uxY: number;
  /** frame step per output row */
  vyX: number;
  vyY: number;
}

export type Border = 'zero' | 'replicate';

/** value written to the tensor = byte * scale + offset, per channel when arrays are given. */
export interface Normalisation {
  scale: number | [number, number, number];
  offset: number | [number, number, number];
}

export interface WarpTarget {
  data: Float32Array;
  /** element offset of this batch item */
  offset: number;
  width: number;
  height: number;
  layout: 'NHWC' | 'NCHW';
}

/** Square of side `side` (frame px) with top-left (x, y), resampled to size×size. */
export function squareAffine(x: number, y: number, side: number, size: number): Affine {
  const s = side / size;
  return { originX: x, originY: y, uxX: s, uxY: 0, vyX: 0, vyY: s };
}

/** Rotated square centred at (cx, cy), rotation in radians (clockwise on screen, y down). */
export function rotatedSquareAffine(cx: number, cy: number, side: number, rotation: number, size: number): Affine {
  const s = side / size;
  const cos = Math.cos(rotation);
  const sin = Math.sin(rotation);
  // top-left corner of the unrotated square, rotated about the centre
  const h = side / 2;
  return {
    originX: cx + -h * cos - -h * sin,
    originY: cy + -h * sin + -h * cos,
    uxX: s * cos,
    uxY: s * sin,
    vyX: -s * sin,
    vyY: s * cos,
  };
}

function channel(v: number | [number, number, number], c: number): number {
  return typeof v === 'number' ? v : v[c]!;
}

/** Bilinear sample at continuous frame coordinate (fx, fy), added into acc[0..2]. */
function addSample(image: DecodedImage, fx: number, fy: number, border: Border, acc: Float64Array): void {
  const { width: W, height: H, rgb } = image;
  if (border === 'zero' && (fx < 0 || fy < 0 || fx > W || fy > H)) return;
  // continuous coordinate → pixel index space (centre of pixel i is i + 0.5)
  const px = Math.min(Math.max(fx - 0.5, 0), W - 1);
  const py = Math.min(Math.max(fy - 0.5, 0), H - 1);
  const x0 = Math.floor(px);
  const y0 = Math.floor(py);
  const dx = x0 + 1 < W ? 3 : 0;
  const dy = y0 + 1 < H ? W * 3 : 0;
  const ax = px - x0;
  const ay = py - y0;
  const i = (y0 * W + x0) * 3;
  for (let c = 0; c < 3; c++) {
    const top = rgb[i + c]! + (rgb[i + dx + c]! - rgb[i + c]!) * ax;
    const bottom = rgb[i + dy + c]! + (rgb[i + dy + dx + c]! - rgb[i + dy + c]!) * ax;
    acc[c]! += top + (bottom - top) * ay;
  }
}

/**
 * Bilinear resampling through `m`. When the affine shrinks the frame by more
 * than 2×, each output pixel averages a k×k grid of bilinear samples (k =
 * shrink / 2, bilinear itself spans 2 px), so that downscaling a whole frame
 * to 224 px does not alias.
 */
export function warpInto(image: DecodedImage, m: Affine, target: WarpTarget, norm: Normalisation, border: Border): void {
  const step = Math.max(Math.hypot(m.uxX, m.uxY), Math.hypot(m.vyX, m.vyY));
  const k = step > 2 ? Math.ceil(step / 2) : 1;
  const inv = 1 / (k * k);
  const s0 = channel(norm.scale, 0) * inv;
  const s1 = channel(norm.scale, 1) * inv;
  const s2 = channel(norm.scale, 2) * inv;
  const o0 = channel(norm.offset, 0);
  const o1 = channel(norm.offset, 1);
  const o2 = channel(norm.offset, 2);
  const { data, width, height } = target;
  // element strides of x and of the channel in the target layout
  const plane = width * height;
  const xStride = target.layout === 'NHWC' ? 3 : 1;
  const cStride = target.layout === 'NHWC' ? 1 : plane;
  if (k === 1) {
    warpBilinear(image, m, target, [s0, s1, s2], [o0, o1, o2], border, xStride, cStride);
    return;
  }
  const acc = new Float64Array(3);

  for (let v = 0; v < height; v++) {
    let idx = target.offset + (target.layout === 'NHWC' ? v * width * 3 : v * width);
    for (let u = 0; u < width; u++, idx += xStride) {
      acc[0] = acc[1] = acc[2] = 0;
      for (let sy = 0; sy < k; sy++) {
        const fv = v + (sy + 0.5) / k;
        for (let sx = 0; sx < k; sx++) {
          const fu = u + (sx + 0.5) / k;
          addSample(image, m.originX + fu * m.uxX + fv * m.vyX, m.originY + fu * m.uxY + fv * m.vyY, border, acc);
        }
      }
      data[idx] = acc[0]! * s0 + o0;
      data[idx + cStride] = acc[1]! * s1 + o1;
      data[idx + 2 * cStride] = acc[2]! * s2 + o2;
    }
  }
}

/**
 * warpInto's path for one sample per output pixel (every landmark crop and
 * detector tile): the same bilinear sample, inlined, so a 256×256 crop costs
 * about a millisecond of JS instead of several.
 */
function warpBilinear(
  image: DecodedImage, m: Affine, target: WarpTarget, scale: [number, number, number], offset: [number, number, number],
  border: Border, xStride: number, cStride: number,
): void {
  const { width: W, height: H, rgb } = image;
  const { data, width, height } = target;
  const [s0, s1, s2] = scale;
  const [o0, o1, o2] = offset;
  const zero = border === 'zero';
  for (let v = 0; v < height; v++) {
    let idx = target.offset + (target.layout === 'NHWC' ? v * width * 3 : v * width);
    // frame coordinate of this row's first output pixel centre; each column adds (uxX, uxY)
    let fx = m.originX + 0.5 * m.uxX + (v + 0.5) * m.vyX;
    let fy = m.originY + 0.5 * m.uxY + (v + 0.5) * m.vyY;
    for (let u = 0; u < width; u++, idx += xStride, fx += m.uxX, fy += m.uxY) {
      if (zero && (fx < 0 || fy < 0 || fx > W || fy > H)) {
        data[idx] = o0;
        data[idx + cStride] = o1;
        data[idx + 2 * cStride] = o2;
        continue;
      }
      const px = fx < 0.5 ? 0 : fx - 0.5 > W - 1 ? W - 1 : fx - 0.5;
      const py = fy < 0.5 ? 0 : fy - 0.5 > H - 1 ? H - 1 : fy - 0.5;
      // px, py >= 0: truncation is floor
      const x0 = px | 0;
      const y0 = py | 0;
      const dx = x0 + 1 < W ? 3 : 0;
      const dy = y0 + 1 < H ? W * 3 : 0;
      const ax = px - x0;
      const ay = py - y0;
      const i = (y0 * W + x0) * 3;
      const j = i + dy;
      let top = rgb[i]! + (rgb[i + dx]! - rgb[i]!) * ax;
      let bottom = rgb[j]! + (rgb[j + dx]! - rgb[j]!) * ax;
      data[idx] = (top + (bottom - top) * ay) * s0 + o0;
      top = rgb[i + 1]! + (rgb[i + dx + 1]! - rgb[i + 1]!) * ax;
      bottom = rgb[j + 1]! + (rgb[j + dx + 1]! - rgb[j + 1]!) * ax;
      data[idx + cStride] = (top + (bottom - top) * ay) * s1 + o1;
      top = rgb[i + 2]! + (rgb[i + dx + 2]! - rgb[i + 2]!) * ax;
      bottom = rgb[j + 2]! + (rgb[j + dx + 2]! - rgb[j + 2]!) * ax;
      data[idx + 2 * cStride] = (top + (bottom - top) * ay) * s2 + o2;
    }
  }
}
