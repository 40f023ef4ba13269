/** Encoded frame → raw RGB, via sharp (JPEG, PNG and whatever else libvips reads). */
import sharp from 'sharp';
import { DEFAULT_MAX_FRAME_PIXELS, jpegSize, pixelLimitProblem } from '@frameline/shared';
import type { DecodedImage } from './types.js';

/** An image larger than the pixel limit; `code` is the DLQ's fl-error code. */
export class PixelLimitError extends Error {
  readonly code = 'too-many-pixels';
  constructor(message: string) {
    super(message);
    this.name = 'PixelLimitError';
  }
}

/**
 * Decodes `buf` to RGB unless it has more than `maxPixels` pixels: a JPEG's
 * size is read from its SOF header first (PixelLimitError, nothing
 * allocated), and sharp's limitInputPixels stops any other format from its
 * header too, so a small file cannot claim gigabytes of pixels.
 */
export async function decodeJpeg(buf: Buffer, maxPixels = DEFAULT_MAX_FRAME_PIXELS): Promise<DecodedImage> {
  const size = jpegSize(buf);
  const tooBig = size && pixelLimitProblem(size, maxPixels);
  if (tooBig) throw new PixelLimitError(tooBig);
  // toColourspace: greyscale or CMYK frames still come out as 3 channels
  const { data, info } = await sharp(buf, { limitInputPixels: maxPixels })
    .toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true })
    .catch((err: Error) => {
      throw /pixel limit/i.test(err.message) ? new PixelLimitError(`image is larger than the limit of ${maxPixels} pixels (${err.message})`) : err;
    });
  if (info.channels !== 3) throw new Error(`decoded image has ${info.channels} channels, expected RGB`);
  return { width: info.width, height: info.height, rgb: data };
}
