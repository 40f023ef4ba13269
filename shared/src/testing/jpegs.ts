// Test support: real JPEGs of the kinds hostile or odd producers send.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Color, type JpegOptions } from 'sharp';
import { jpegSize } from '../record/jpeg.js';
import { REPO_ROOT } from './broker.js';

/** A plain JPEG of `width`×`height` in one colour. */
export function solidJpeg(width: number, height: number, colour: Color = '#6688aa', quality = 80): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).jpeg({ quality }).toBuffer();
}

export const BOMB_SIDE = 16_000;

/**
 * A real, decodable 16000×16000 grayscale JPEG (256 Mpx, about 1.5 MB: it
 * compresses well), which decoded to RGB would take 768 MB. Made once per
 * checkout under .cache/ (encoding it takes tens of seconds on a busy machine).
 */
export async function pixelBombJpeg(): Promise<Buffer> {
  const dir = join(REPO_ROOT, '.cache/test-jpegs');
  const file = join(dir, `pixel-bomb-${BOMB_SIDE}.jpg`);
  if (existsSync(file)) {
    const cached = readFileSync(file);
    const size = jpegSize(cached);
    if (size?.width === BOMB_SIDE && size.height === BOMB_SIDE) return cached;
  }
  const jpeg = await sharp({ create: { width: BOMB_SIDE, height: BOMB_SIDE, channels: 3, background: { r: 128, g: 128, b: 128 } }, limitInputPixels: false })
    .grayscale().jpeg({ quality: 50 }).toBuffer();
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${file}.tmp`, jpeg);
  renameSync(`${file}.tmp`, file);
  return jpeg;
}

/** A real JPEG of `width`×`height` whose raw RGB bytes (interleaved, index `i`) are `pixel(i)`. */
export function rawJpeg(width: number, height: number, pixel: (i: number) => number, options: JpegOptions = {}): Promise<Buffer> {
  const px = Buffer.alloc(width * height * 3);
  for (let i = 0; i < px.length; i++) px[i] = pixel(i);
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg(options).toBuffer();
}

/** A real JPEG of seeded pseudo-random noise: it barely compresses, so its size is predictable (about 40 KB at 320x240). */
export function noisyJpeg(width: number, height: number, seed: number, quality = 75): Promise<Buffer> {
  let x = seed * 2654435761;
  return rawJpeg(width, height, () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return x >>> 24;
  }, { quality });
}
