/** Encoded frame → raw RGB, via sharp (JPEG, PNG and whatever else libvips reads). */
import sharp from 'sharp';
import type { DecodedImage } from './types.js';

export async function decodeJpeg(buf: Buffer): Promise<DecodedImage> {
  // toColourspace: greyscale or CMYK frames still come out as 3 channels
  const { data, info } = await sharp(buf).toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded image has ${info.channels} channels, expected RGB`);
  return { width: info.width, height: info.height, rgb: data };
}
