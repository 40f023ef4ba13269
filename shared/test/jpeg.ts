// Real JPEG bytes for tests, encoded by libjpeg through sharp. sharp is a
// dev-time dependency here: shared itself never decodes images.
import sharp from 'sharp';

export async function realJpeg(width: number, height: number, seed = 1): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (i * 7 + seed * 31) & 0xff;
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
}
