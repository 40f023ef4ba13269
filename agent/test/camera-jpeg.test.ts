// The JPEG splitter and header reader on real JPEGs (encoded by sharp and
// taken from the vtest clip), fed in every awkward way a pipe can deliver.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { rawJpeg } from '@frameline/shared/testing';
import { createJpegSplitter, jpegSize } from '../src/camera/index.js';
import { FIXTURES } from './fixtures/helpers.js';

const vtest = (n: number) => readFileSync(path.join(FIXTURES, 'vtest-frames', `frame-0${n}.jpg`));

function gradient(width: number, height: number, shift: number): Promise<Buffer> {
  return rawJpeg(width, height, (i) => (i * 7 + shift * 31) & 0xff, { quality: 90 });
}

/** A JPEG with an APP1 segment holding a whole thumbnail JPEG (its own FF D8 ... FF D9), as cameras write EXIF. */
function withThumbnail(jpeg: Buffer, thumbnail: Buffer): Buffer {
  const payload = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumbnail]);
  const header = Buffer.from([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff]);
  return Buffer.concat([jpeg.subarray(0, 2), header, payload, jpeg.subarray(2)]);
}

function feed(chunks: Buffer[], maxFrameBytes = 1024 * 1024) {
  const splitter = createJpegSplitter({ maxFrameBytes });
  const frames = chunks.flatMap((c) => splitter.push(c));
  return { frames, stats: splitter.stats() };
}

function chop(stream: Buffer, sizes: () => number): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < stream.length; ) {
    const n = sizes();
    out.push(stream.subarray(pos, pos + n));
    pos += n;
  }
  return out;
}

let a: Buffer, b: Buffer, c: Buffer;
before(async () => {
  [a, b, c] = await Promise.all([gradient(160, 120, 1), gradient(200, 100, 2), gradient(64, 48, 3)]);
});

describe('jpegSize', () => {
  test('reads width and height from the frame header of baseline and progressive JPEGs', async () => {
    assert.deepEqual(jpegSize(vtest(1)), { width: 384, height: 288 });
    assert.deepEqual(jpegSize(b), { width: 200, height: 100 });
    const progressive = await sharp(b).jpeg({ progressive: true }).toBuffer();
    assert.deepEqual(jpegSize(progressive), { width: 200, height: 100 });
    assert.deepEqual(jpegSize(withThumbnail(a, c)), { width: 160, height: 120 }, 'not the thumbnail size');
  });

  test('returns undefined for bytes that are not a JPEG or end before the frame header', () => {
    assert.equal(jpegSize(Buffer.from('not a jpeg at all')), undefined);
    assert.equal(jpegSize(a.subarray(0, 20)), undefined);
    assert.equal(jpegSize(Buffer.alloc(0)), undefined);
  });
});

describe('JPEG splitter', () => {
  test('splits back-to-back frames into the exact original frames, whatever the chunking', () => {
    const stream = Buffer.concat([a, b, vtest(2), c]);
    const chunkings: [string, Buffer[]][] = [
      ['one chunk', [stream]],
      ['one byte at a time', chop(stream, () => 1)],
      ['odd sizes', chop(stream, (() => { let i = 0; return () => [1, 2, 3, 5, 700, 4099][i++ % 6]!; })())],
    ];
    for (const [how, chunks] of chunkings) {
      const { frames, stats } = feed(chunks);
      assert.equal(frames.length, 4, how);
      assert.ok(frames[0]!.equals(a) && frames[1]!.equals(b) && frames[2]!.equals(vtest(2)) && frames[3]!.equals(c), how);
      assert.equal(stats.discardedBytes, 0, how);
    }
  });

  test('keeps a frame whole when its EXIF thumbnail contains SOI and EOI markers', () => {
    const withThumb = withThumbnail(a, c);
    const { frames } = feed(chop(Buffer.concat([withThumb, b]), () => 333));
    assert.equal(frames.length, 2);
    assert.ok(frames[0]!.equals(withThumb));
    assert.ok(frames[1]!.equals(b));
  });

  test('splits progressive JPEGs (several scans with tables between them)', async () => {
    const p1 = await sharp(vtest(3)).jpeg({ progressive: true }).toBuffer();
    const p2 = await sharp(vtest(4)).jpeg({ progressive: true }).toBuffer();
    const { frames } = feed(chop(Buffer.concat([p1, p2]), () => 1000));
    assert.equal(frames.length, 2);
    assert.ok(frames[0]!.equals(p1) && frames[1]!.equals(p2));
  });

  test('drops garbage between frames and counts its bytes', () => {
    // Stray markers; the trailing FF sits right before the next SOI (FF FF D8 FF).
    const garbage = Buffer.from([0x00, 0xff, 0xd9, 0x12, 0xff, 0xff, 0xd8, 0x00, 0xff]);
    const { frames, stats } = feed([garbage, a, garbage, b, garbage, Buffer.from([0x01])]);
    assert.equal(frames.length, 2);
    assert.ok(frames[0]!.equals(a) && frames[1]!.equals(b));
    assert.equal(stats.discardedBytes, garbage.length * 3 + 1);
  });

  test('recovers the next frame after a truncated one, in entropy data or in the headers', () => {
    const cutInData = a.subarray(0, a.length - 100);
    const cutInHeaders = b.subarray(0, 30);
    const { frames, stats } = feed(chop(Buffer.concat([cutInData, c, cutInHeaders, a]), () => 512));
    assert.equal(frames.length, 2);
    assert.ok(frames[0]!.equals(c) && frames[1]!.equals(a));
    // Cut inside a marker segment, the walker may first see a broken segment rather than the new SOI.
    assert.equal(stats.truncatedFrames + stats.corruptFrames, 2);
    assert.equal(stats.discardedBytes, cutInData.length + cutInHeaders.length);
  });

  test('discards a frame with no end within maxFrameBytes, holding no more than that, and resyncs', () => {
    const maxFrameBytes = 32 * 1024; // the test frames are 2..17 KB
    const sos = a.indexOf(Buffer.from([0xff, 0xda]));
    const endless = Buffer.concat([a.subarray(0, sos + 14), Buffer.alloc(200_000, 0x55)]);
    const { frames, stats } = feed(chop(Buffer.concat([endless, b, c]), () => 4096), maxFrameBytes);
    assert.equal(frames.length, 2);
    assert.ok(frames[0]!.equals(b) && frames[1]!.equals(c));
    assert.equal(stats.oversizedFrames, 1);
    assert.equal(stats.discardedBytes, endless.length);
    assert.ok(stats.peakBufferedBytes <= maxFrameBytes, `held ${stats.peakBufferedBytes} bytes`);
  });

  test('reset() drops a partial frame so it is not glued to the next process output', () => {
    const splitter = createJpegSplitter({ maxFrameBytes: 1024 * 1024 });
    assert.deepEqual(splitter.push(a.subarray(0, 500)), []);
    splitter.reset();
    const frames = splitter.push(b);
    assert.equal(frames.length, 1);
    assert.ok(frames[0]!.equals(b));
    assert.equal(splitter.stats().truncatedFrames, 1);
  });
});
