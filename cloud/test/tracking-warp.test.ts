// The resampler every landmark crop and detector tile goes through (warp.ts),
// against a plain per-pixel bilinear sampler written from its documented
// rules: output pixel centres (u+0.5, v+0.5) through the affine, pixel i of
// the frame covering [i, i+1), edges clamped, 'zero' border outside the frame.
// On the real CCTV frame, at random rotated squares (some past the edges).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { seededRandom } from '@frameline/shared/testing';
import { decodeJpeg } from '../src/inference/decode.js';
import { rotatedSquareAffine, squareAffine, warpInto, type Affine, type Border } from '../src/inference/warp.js';
import type { DecodedImage } from '../src/inference/types.js';

const frame = await decodeJpeg(await readFile(new URL('../../test/fixtures/vtest_frame.jpg', import.meta.url)));

function reference(image: DecodedImage, m: Affine, size: number, border: Border): Float32Array {
  const { width: W, height: H, rgb } = image;
  const out = new Float32Array(size * size * 3);
  const at = (x: number, y: number, c: number) => rgb[(Math.min(y, H - 1) * W + Math.min(x, W - 1)) * 3 + c]!;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const fx = m.originX + (u + 0.5) * m.uxX + (v + 0.5) * m.vyX;
      const fy = m.originY + (u + 0.5) * m.uxY + (v + 0.5) * m.vyY;
      if (border === 'zero' && (fx < 0 || fy < 0 || fx > W || fy > H)) continue;
      const px = Math.min(Math.max(fx - 0.5, 0), W - 1);
      const py = Math.min(Math.max(fy - 0.5, 0), H - 1);
      const x0 = Math.floor(px);
      const y0 = Math.floor(py);
      for (let c = 0; c < 3; c++) {
        const top = at(x0, y0, c) * (1 - (px - x0)) + at(x0 + 1, y0, c) * (px - x0);
        const bottom = at(x0, y0 + 1, c) * (1 - (px - x0)) + at(x0 + 1, y0 + 1, c) * (px - x0);
        out[(v * size + u) * 3 + c] = top * (1 - (py - y0)) + bottom * (py - y0);
      }
    }
  }
  return out;
}

test('warpInto with one sample per pixel (landmark crops, detector tiles) matches a plain bilinear sampler, NHWC and NCHW, both borders', () => {
  const random = seededRandom(7);
  const size = 64;
  let cases = 0;
  for (let n = 0; n < 40; n++) {
    const side = 20 + random.next() * 100; // at most 2x shrink: one sample per pixel
    const cx = -40 + random.next() * (frame.width + 80);
    const cy = -40 + random.next() * (frame.height + 80);
    const m = n % 4 === 0 ? squareAffine(cx - side / 2, cy - side / 2, side, size) : rotatedSquareAffine(cx, cy, side, (random.next() - 0.5) * 2 * Math.PI, size);
    for (const border of ['zero', 'replicate'] as const) {
      const want = reference(frame, m, size, border);
      const nhwc = new Float32Array(size * size * 3 + 5);
      warpInto(frame, m, { data: nhwc, offset: 5, width: size, height: size, layout: 'NHWC' }, { scale: 1, offset: 0 }, border);
      const nchw = new Float32Array(size * size * 3);
      warpInto(frame, m, { data: nchw, offset: 0, width: size, height: size, layout: 'NCHW' }, { scale: [2, 1, 0.5], offset: [-1, 0, 1] }, border);
      let worst = 0;
      for (let p = 0; p < size * size; p++) {
        for (let c = 0; c < 3; c++) {
          const w = want[p * 3 + c]!;
          worst = Math.max(worst, Math.abs(nhwc[5 + p * 3 + c]! - w), Math.abs(nchw[c * size * size + p]! - (w * [2, 1, 0.5][c]! + [-1, 0, 1][c]!)));
        }
      }
      assert.ok(worst < 0.01, `case ${n} ${border}: largest difference ${worst} (side ${side.toFixed(1)} at ${cx.toFixed(1)},${cy.toFixed(1)})`);
      cases++;
    }
  }
  assert.equal(cases, 80);
});
