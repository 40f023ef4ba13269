// Splits a byte stream of concatenated JPEGs (MJPEG from rpicam-vid or
// `ffmpeg -f mjpeg`) into frames, incrementally and in bounded memory.
//
// Why not pipe2jpeg: it starts a frame at any FF D8 and ends it at the next
// FF D9, so a truncated frame swallows the following good one (one corrupt
// output instead of one good frame), and a frame without FF D9 grows its
// chunk list without limit. We need both cases handled.
//
// How frames are found: a frame starts at SOI (FF D8 FF). Marker segments
// are then skipped by their length fields, so an FF D8 inside an APPn segment
// (an EXIF thumbnail) is never mistaken for a new frame. After SOS comes
// entropy-coded data, where a literal FF is always stuffed as FF 00, so the
// first FF followed by anything but 00 or a restart marker (D0..D7) is a real
// marker: D9 ends the frame, D8 means the frame was cut off and a new one
// starts, anything else (DHT/SOS of a progressive JPEG) resumes segment
// walking. rpicam-vid's and ffmpeg's MJPEG frames carry no thumbnails; a frame
// cut off inside an APPn segment costs that frame and at worst the next one.

export interface JpegSplitterOptions {
  /** A frame with no end marker within this many bytes is discarded (and counted). */
  maxFrameBytes: number;
}

export interface JpegSplitterStats {
  frames: number;
  /** Bytes not delivered in any frame: garbage, truncated, corrupt or oversized frames. */
  discardedBytes: number;
  /** The part of discardedBytes that lay outside any frame (between an end and the next SOI): a working camera writes none. */
  strayBytes: number;
  truncatedFrames: number;
  oversizedFrames: number;
  /** Frames whose marker structure was broken (e.g. garbage that looked like an SOI). */
  corruptFrames: number;
  /** Peak bytes held by the parser; never above maxFrameBytes. */
  peakBufferedBytes: number;
}

export interface JpegSplitter {
  /** Feeds bytes; returns the frames completed by them (copies, safe to keep). */
  push(chunk: Uint8Array): Buffer[];
  /** Drops a partial frame (the producer restarted or ended); it counts as truncated. */
  reset(): void;
  stats(): JpegSplitterStats;
}

type State = 'seek' | 'segments' | 'entropy';

const INITIAL_CAPACITY = 64 * 1024;

export function createJpegSplitter(options: JpegSplitterOptions): JpegSplitter {
  const max = options.maxFrameBytes;
  if (!Number.isInteger(max) || max < 1024) throw new RangeError(`maxFrameBytes must be an integer >= 1024, got ${max}`);

  // buf[0..len) holds the current frame candidate (from its SOI at 0) or, while
  // seeking, at most the two bytes that may begin an SOI.
  let buf = Buffer.allocUnsafe(Math.min(INITIAL_CAPACITY, max));
  let len = 0;
  let scan = 0;
  let state: State = 'seek';
  const stats: JpegSplitterStats = {
    frames: 0,
    discardedBytes: 0,
    strayBytes: 0,
    truncatedFrames: 0,
    oversizedFrames: 0,
    corruptFrames: 0,
    peakBufferedBytes: 0,
  };

  const append = (bytes: Uint8Array): void => {
    if (len + bytes.length > buf.length) {
      let capacity = buf.length;
      while (capacity < len + bytes.length) capacity *= 2;
      const bigger = Buffer.allocUnsafe(Math.min(capacity, max));
      buf.copy(bigger, 0, 0, len);
      buf = bigger;
    }
    buf.set(bytes, len);
    len += bytes.length;
    if (len > stats.peakBufferedBytes) stats.peakBufferedBytes = len;
  };

  /** Forgets buf[0..n) (already delivered or counted) and moves the rest to the front. */
  const consume = (n: number): void => {
    buf.copy(buf, 0, n, len);
    len -= n;
    scan = Math.max(0, scan - n);
  };

  const discard = (n: number): void => {
    stats.discardedBytes += n;
    consume(n);
  };

  /** Bytes skipped while looking for an SOI: not part of any frame. */
  const discardStray = (n: number): void => {
    stats.strayBytes += n;
    discard(n);
  };

  /** The frame starting at 0 is broken: drop its SOI and look for the next one after it. */
  const dropFrame = (counter: 'truncatedFrames' | 'corruptFrames', upTo: number): void => {
    stats[counter]++;
    state = 'seek';
    scan = 0;
    discard(upTo);
  };

  const emit = (end: number, out: Buffer[]): void => {
    out.push(Buffer.from(buf.subarray(0, end)));
    stats.frames++;
    state = 'seek';
    consume(end);
    scan = 0;
  };

  /** indexOf within the filled part only: the rest of buf is stale bytes. */
  const findFF = (from: number): number => buf.subarray(0, len).indexOf(0xff, from);

  const seek = (): boolean => {
    for (let i = findFF(scan); i >= 0; i = findFF(i + 1)) {
      // FF D8 FF, where the bytes not received yet count as matching.
      const matches = (i + 1 >= len || buf[i + 1] === 0xd8) && (i + 2 >= len || buf[i + 2] === 0xff);
      if (!matches) continue;
      discardStray(i);
      if (len < 3) return false; // an SOI split across chunks: wait for the rest
      state = 'segments';
      scan = 2;
      return true;
    }
    discardStray(len);
    return false;
  };

  /** Walks marker segments from `scan`; returns false when it needs more bytes. */
  const segments = (out: Buffer[]): boolean => {
    for (;;) {
      if (scan + 2 > len) return false;
      if (buf[scan] !== 0xff) {
        dropFrame('corruptFrames', 2);
        return true;
      }
      const marker = buf[scan + 1]!;
      if (marker === 0xff) {
        scan++;
        continue;
      }
      if (marker === 0xd9) {
        emit(scan + 2, out);
        return true;
      }
      if (marker === 0xd8) {
        dropFrame('truncatedFrames', scan);
        return true;
      }
      if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
        scan += 2;
        continue;
      }
      if (scan + 4 > len) return false;
      const length = (buf[scan + 2]! << 8) | buf[scan + 3]!;
      if (length < 2) {
        dropFrame('corruptFrames', 2);
        return true;
      }
      scan += 2 + length;
      if (marker === 0xda) {
        state = 'entropy';
        return true;
      }
    }
  };

  /** Looks for the first real marker in entropy-coded data; false when it needs more bytes. */
  const entropy = (out: Buffer[]): boolean => {
    for (;;) {
      if (scan >= len) return false;
      const i = findFF(scan);
      if (i < 0) {
        scan = len;
        return false;
      }
      if (i + 1 >= len) {
        scan = i;
        return false;
      }
      const next = buf[i + 1]!;
      if (next === 0x00 || next === 0xff || (next >= 0xd0 && next <= 0xd7)) {
        scan = next === 0xff ? i + 1 : i + 2;
        continue;
      }
      if (next === 0xd9) {
        emit(i + 2, out);
        return true;
      }
      if (next === 0xd8) {
        dropFrame('truncatedFrames', i);
        return true;
      }
      scan = i;
      state = 'segments';
      return true;
    }
  };

  const parse = (out: Buffer[]): void => {
    let progressed = true;
    while (progressed) {
      if (state === 'seek') progressed = seek();
      else if (state === 'segments') progressed = segments(out);
      else progressed = entropy(out);
    }
  };

  return {
    push(chunk) {
      const out: Buffer[] = [];
      let offset = 0;
      while (offset < chunk.length) {
        const take = Math.min(max - len, chunk.length - offset);
        append(chunk.subarray(offset, offset + take));
        offset += take;
        parse(out);
        if (len >= max) {
          // No end marker within maxFrameBytes: give the frame up and resync on the
          // next SOI after its own, so frames that a corrupted segment length made
          // it skip over are still found.
          stats.oversizedFrames++;
          state = 'seek';
          scan = 0;
          discard(2);
          parse(out);
        }
      }
      return out;
    },
    reset() {
      if (state !== 'seek') stats.truncatedFrames++;
      stats.discardedBytes += len;
      len = 0;
      scan = 0;
      state = 'seek';
    },
    stats: () => ({ ...stats }),
  };
}
