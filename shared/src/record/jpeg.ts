// What a JPEG is, read from its marker structure without decoding pixels:
// the frame size from the SOFn header (so a pixel bomb is refused before a
// decoder allocates for it) and where the image ends (EOI), so bytes an
// encoder pads after EOI are harmless while a cut-off image is not.

/**
 * Pixels a frame may have unless configured otherwise: 16 Mi px (4096×4096).
 * The largest modes of Raspberry Pi's own cameras fit with headroom (HQ
 * 4056×3040 = 12.3 MP, Camera Module 3 4608×2592 = 11.9 MP), and one
 * decoded RGB frame stays under 48 MiB. 48/64 MP third-party sensors need
 * the limit raised in the config.
 */
export const DEFAULT_MAX_FRAME_PIXELS = 4096 * 4096;

export interface JpegSize {
  width: number;
  height: number;
}

export interface JpegLayout extends JpegSize {
  /** Offset just past the EOI marker; bytes from here on are padding. */
  end: number;
}

export type JpegProblemCode = 'not-jpeg' | 'truncated-jpeg' | 'corrupt-jpeg';

export interface JpegProblem {
  code: JpegProblemCode;
  message: string;
}

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

const isStandalone = (marker: number) => (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01;

/**
 * Width and height from the frame header (SOFn), walking marker segments by
 * their lengths from SOI, so an EXIF thumbnail's SOF is never taken for the
 * frame's. Undefined when `jpeg` is not a JPEG or has no SOF before its scan.
 */
export function jpegSize(jpeg: Uint8Array): JpegSize | undefined {
  const r = walk(jpeg, false);
  return 'code' in r ? undefined : { width: r.width, height: r.height };
}

/**
 * The whole image's layout: size from SOFn and the end of its EOI marker.
 * Entropy-coded data is skipped to the next real marker (FF followed by
 * anything but 00, FF or RSTn), so every scan of a progressive JPEG is seen.
 * Returns a JpegProblem (never throws) for anything that is not one complete
 * JPEG image: no SOI, a marker structure that is broken, or no EOI.
 */
export function readJpegLayout(jpeg: Uint8Array): JpegLayout | JpegProblem {
  return walk(jpeg, true);
}

function walk(b: Uint8Array, toEnd: boolean): JpegLayout | JpegProblem {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8 || b[2] !== 0xff) {
    return { code: 'not-jpeg', message: 'does not start with a JPEG SOI marker (FF D8 FF)' };
  }
  const truncated = (where: string): JpegProblem => ({ code: 'truncated-jpeg', message: `ends ${where} before the JPEG EOI marker (FF D9): truncated?` });
  const corrupt = (what: string, at: number): JpegProblem => ({ code: 'corrupt-jpeg', message: `${what} at byte ${at}` });
  let size: JpegSize | undefined;
  let pos = 2;
  for (;;) {
    if (pos >= b.length) return truncated('between marker segments');
    if (b[pos] !== 0xff) return corrupt(`expected a marker, found 0x${b[pos]!.toString(16).padStart(2, '0')}`, pos);
    if (pos + 1 >= b.length) return truncated('inside a marker');
    const marker = b[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte before a marker
      continue;
    }
    if (marker === 0xd9) return size ? { ...size, end: pos + 2 } : corrupt('EOI before any frame header (SOFn)', pos);
    if (marker === 0xd8) return truncated('where a new image (SOI) starts');
    if (isStandalone(marker)) {
      pos += 2;
      continue;
    }
    if (pos + 4 > b.length) return truncated('inside a marker segment');
    const length = (b[pos + 2]! << 8) | b[pos + 3]!;
    if (length < 2) return corrupt(`marker segment length ${length}`, pos);
    const next = pos + 2 + length;
    if (isStartOfFrame(marker) && !size) {
      // SOF payload: precision(1) height(2) width(2) components(1)...
      if (length < 8) return corrupt(`frame header (SOF) of ${length} bytes`, pos);
      if (pos + 9 > b.length) return truncated('inside the frame header');
      const height = (b[pos + 5]! << 8) | b[pos + 6]!;
      const width = (b[pos + 7]! << 8) | b[pos + 8]!;
      if (width === 0 || height === 0) return corrupt(`frame header of ${width}×${height} pixels`, pos);
      size = { width, height };
      if (!toEnd) return { ...size, end: -1 };
    }
    if (next > b.length) return truncated('inside a marker segment');
    if (marker !== 0xda) {
      pos = next;
      continue;
    }
    if (!size) return corrupt('scan data (SOS) before any frame header (SOFn)', pos);
    pos = skipEntropyData(b, next);
    if (pos < 0) return truncated('inside scan data');
  }
}

/** Index of the first real marker after entropy-coded data from `from`, or -1 at the end of the bytes. */
function skipEntropyData(b: Uint8Array, from: number): number {
  let i = from;
  for (;;) {
    i = b.indexOf(0xff, i);
    if (i < 0 || i + 1 >= b.length) return -1;
    const after = b[i + 1]!;
    // FF 00 is a stuffed data byte, FF Dn a restart marker inside the scan; FF FF is fill.
    if (after === 0x00 || (after >= 0xd0 && after <= 0xd7) || after === 0xff) {
      i += after === 0xff ? 1 : 2;
      continue;
    }
    return i;
  }
}

/** Width × height against a limit, with the message an operator needs. */
export function pixelLimitProblem(size: JpegSize, maxPixels: number): string | undefined {
  const pixels = size.width * size.height;
  if (pixels <= maxPixels) return undefined;
  return `image is ${size.width}×${size.height} = ${pixels} pixels, limit is ${maxPixels} (raise maxFramePixels if a camera really sends this)`;
}
