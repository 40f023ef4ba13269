// The only place the pipeline decodes JPEGs. An interface so tests can count
// decodes and prove the fast path never touches pixels.
import sharp from 'sharp';
import { DEFAULT_MAX_FRAME_PIXELS } from '@frameline/shared';

export interface ResizeBox {
  maxWidth?: number;
  maxHeight?: number;
}

export interface EncodedFrame {
  jpeg: Buffer;
  width: number;
  height: number;
}

export interface FrameCodec {
  /** The frame scaled to exactly width x height, one gray byte per pixel. */
  grayThumbnail(jpeg: Buffer, width: number, height: number): Promise<Buffer>;
  /** The frame scaled to fit inside the box (never enlarged), re-encoded at `quality`. */
  resize(jpeg: Buffer, box: ResizeBox, quality: number): Promise<EncodedFrame>;
}

/** `maxPixels` becomes sharp's limitInputPixels: libvips refuses larger images from their header. */
export function createSharpCodec(maxPixels = DEFAULT_MAX_FRAME_PIXELS): FrameCodec {
  const input = { limitInputPixels: maxPixels };
  return {
    async grayThumbnail(jpeg, width, height) {
      // JPEG shrink-on-load decodes at 1/8 scale first, so this stays cheap for large frames.
      const { data, info } = await sharp(jpeg, input)
        .resize(width, height, { fit: 'fill' })
        .grayscale()
        .raw()
        .toBuffer({ resolveWithObject: true });
      if (info.channels !== 1) throw new Error(`expected one gray channel, sharp gave ${info.channels}`);
      return data;
    },
    async resize(jpeg, box, quality) {
      const { data, info } = await sharp(jpeg, input)
        .rotate() // honour an EXIF orientation before measuring the box
        .resize({ width: box.maxWidth, height: box.maxHeight, fit: 'inside', withoutEnlargement: true })
        .jpeg({ quality, mozjpeg: false })
        .toBuffer({ resolveWithObject: true });
      return { jpeg: data, width: info.width, height: info.height };
    },
  };
}
