// Real JPEG bytes for the shared tests: one gradient, from the toolbox's encoder.
import { rawJpeg } from '../src/testing/jpegs.js';

export function realJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  return rawJpeg(width, height, (i) => (i * 7 + seed * 31) & 0xff, { quality: 80 });
}
