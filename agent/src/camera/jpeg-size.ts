// Width and height of a JPEG from its frame header (SOFn), without decoding:
// walk the marker segments from SOI by their lengths until a SOF marker.

export interface JpegSize {
  width: number;
  height: number;
}

/** SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range. */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Returns undefined when `jpeg` is not a JPEG or has no frame header before its scan data. */
export function jpegSize(jpeg: Uint8Array): JpegSize | undefined {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  let pos = 2;
  while (pos + 4 <= jpeg.length) {
    if (jpeg[pos] !== 0xff) return undefined;
    const marker = jpeg[pos + 1]!;
    if (marker === 0xff) {
      pos++; // fill byte before a marker
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return undefined; // EOI or scan data before any SOF
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      pos += 2; // standalone markers carry no length
      continue;
    }
    const length = (jpeg[pos + 2]! << 8) | jpeg[pos + 3]!;
    if (length < 2) return undefined;
    if (isStartOfFrame(marker)) {
      // SOF payload: precision(1) height(2) width(2) components(1)...
      if (pos + 9 > jpeg.length) return undefined;
      const height = (jpeg[pos + 5]! << 8) | jpeg[pos + 6]!;
      const width = (jpeg[pos + 7]! << 8) | jpeg[pos + 8]!;
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    pos += 2 + length;
  }
  return undefined;
}
