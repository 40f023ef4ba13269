// The shared rules that keep hostile input harmless: the JPEG layout walker
// (pixel limit from the header, padding after EOI), the camera id rule, the
// secret file rule and plain-data log fields. Pure functions, no broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import sharp from 'sharp';
import {
  DEFAULT_MAX_FRAME_PIXELS, FrameValidationError, cameraIdProblem, checkJpeg, createLogger, formatField,
  jpegSize, readJpegLayout, secretFromText,
} from '../src/index.js';
import { realJpeg } from './jpeg.js';

const MAX = 8 << 20;

function codeOf(value: Buffer, maxPixels?: number): string {
  try {
    checkJpeg(value, MAX, maxPixels);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof FrameValidationError, String(err));
    return err.code;
  }
}

test('a frame followed by encoder padding (64 zero bytes, or junk) is valid; its end is the EOI marker', async () => {
  const jpeg = await realJpeg(768, 576);
  for (const pad of [Buffer.alloc(64), Buffer.alloc(4096, 0xff), Buffer.from('trailing text\n')]) {
    const padded = Buffer.concat([jpeg, pad]);
    assert.equal(codeOf(padded), 'ok');
    const layout = readJpegLayout(padded);
    assert.ok(!('code' in layout));
    assert.deepEqual(layout, { width: 768, height: 576, end: jpeg.length });
  }
  // and sharp decodes it, so accepting it is right
  const meta = await sharp(Buffer.concat([jpeg, Buffer.alloc(64)])).raw().toBuffer({ resolveWithObject: true });
  assert.equal(meta.info.width, 768);
});

test('truncated, corrupt and foreign values each get their own code', async () => {
  const jpeg = await realJpeg(320, 240);
  assert.equal(codeOf(jpeg.subarray(0, jpeg.length - 2)), 'truncated-jpeg', 'no EOI');
  assert.equal(codeOf(jpeg.subarray(0, jpeg.length >> 1)), 'truncated-jpeg', 'cut in the scan');
  assert.equal(codeOf(Buffer.concat([jpeg.subarray(0, jpeg.length >> 1), Buffer.alloc(64)])), 'truncated-jpeg', 'cut in the scan, then zero padding');
  assert.equal(codeOf(jpeg.subarray(0, 20)), 'truncated-jpeg', 'cut in the headers');
  assert.equal(codeOf(Buffer.concat([jpeg.subarray(0, 400), jpeg])), 'truncated-jpeg', 'cut, then the next frame');
  assert.equal(codeOf(Buffer.from('GIF89a....')), 'not-jpeg');
  assert.equal(codeOf(Buffer.from([0xff, 0xd8, 0xff, 0xd9])), 'corrupt-jpeg', 'EOI without a frame');
  const garbage = Buffer.from(jpeg);
  garbage[2 + 2 + ((garbage[4]! << 8) | garbage[5]!)] = 0x00; // the byte where the second marker should start
  assert.equal(codeOf(garbage), 'corrupt-jpeg');
});

test('progressive JPEGs (many scans) and EXIF thumbnails are walked to the real end and size', async () => {
  const progressive = await sharp(await realJpeg(200, 100)).jpeg({ progressive: true }).toBuffer();
  assert.deepEqual(readJpegLayout(progressive), { width: 200, height: 100, end: progressive.length });
  const thumb = await realJpeg(16, 8);
  const main = await realJpeg(160, 120);
  // APP1 segment carrying a whole JPEG (with its own SOF and EOI) right after SOI
  const app1 = Buffer.concat([Buffer.from([0xff, 0xe1, (thumb.length + 2) >> 8, (thumb.length + 2) & 0xff]), thumb]);
  const withThumb = Buffer.concat([main.subarray(0, 2), app1, main.subarray(2)]);
  assert.deepEqual(readJpegLayout(withThumb), { width: 160, height: 120, end: withThumb.length });
  assert.equal(codeOf(withThumb.subarray(0, 2 + app1.length + 50)), 'truncated-jpeg', 'the thumbnail\'s EOI is not the image\'s');
});

test('the pixel limit is read from the SOF header: a 16000×16000 header is refused without decoding', async () => {
  assert.equal(DEFAULT_MAX_FRAME_PIXELS, 4096 * 4096);
  const small = await realJpeg(64, 48);
  // Same bytes, SOF rewritten to claim 16000×16000: refused from the header alone.
  const sof = small.indexOf(Buffer.from([0xff, 0xc0]));
  const claimed = Buffer.from(small);
  claimed.writeUInt16BE(16000, sof + 5);
  claimed.writeUInt16BE(16000, sof + 7);
  assert.deepEqual(jpegSize(claimed), { width: 16000, height: 16000 });
  assert.equal(codeOf(claimed), 'too-many-pixels');
  assert.equal(codeOf(small, 64 * 48), 'ok', 'exactly at the limit');
  assert.equal(codeOf(small, 64 * 48 - 1), 'too-many-pixels');
  // The largest Raspberry Pi camera modes pass the default.
  for (const [w, h] of [[4608, 2592], [4056, 3040]] as const) {
    const hq = Buffer.from(small);
    hq.writeUInt16BE(h, sof + 5);
    hq.writeUInt16BE(w, sof + 7);
    assert.equal(codeOf(hq), 'ok', `${w}×${h}`);
  }
});

test('camera ids: one rule for keys, labels, file names and log fields', () => {
  for (const ok of ['CAMERA-1', 'cam_2.front', 'a', 'x'.repeat(64), '7']) assert.equal(cameraIdProblem(ok), undefined, ok);
  for (const bad of ['', 'FIELD/../../etc', '..', 'a..b', '.hidden', '-x', 'x'.repeat(65), 'x'.repeat(3000), 'cam era', 'cam\n1', 'kamera-ü', 'cam\uFFFD', 'cam"1']) {
    const problem = cameraIdProblem(bad);
    assert.ok(problem, `${JSON.stringify(bad)} must be refused`);
    assert.ok(problem.length < 300, 'the message quotes a bounded part of the id');
  }
});

test('secret files: one final newline is removed, other surrounding whitespace is refused with the file named', () => {
  assert.equal(secretFromText('s3cret\n', '/p'), 's3cret');
  assert.equal(secretFromText('s3cret\r\n', '/p'), 's3cret');
  assert.equal(secretFromText('s3cret', '/p'), 's3cret');
  assert.equal(secretFromText('with inner space', '/p'), 'with inner space');
  for (const bad of ['s3cret\n\n', 's3cret \n', ' s3cret', 's3cret\t', '\ns3cret', 'two\nlines', 'nul\u0000byte']) {
    assert.throws(() => secretFromText(bad, '/etc/frameline/kafka.password'), /\/etc\/frameline\/kafka\.password/, JSON.stringify(bad));
  }
  assert.throws(() => secretFromText('\n', '/p'), /empty/);
});

test('log fields are plain data: no function source, no buffer bytes, no cycles, bounded length', async () => {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  const log = createLogger({ journald: true, stream });
  const ticket = { topic: 't', partition: 0, offset: '5', complete() { if (Math.random() > 2) throw new Error('source code'); } };
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  log.warn('invalid record', { ...ticket, ticket, fn: () => 'secret source', value: Buffer.alloc(1 << 20), cyclic, camera: 'x'.repeat(3000) });
  await new Promise((r) => setImmediate(r));
  const line = lines[0]!;
  assert.doesNotMatch(line, /=>|Math\.random|source code|secret source/);
  assert.match(line, /complete=\[function\]/);
  assert.match(line, /ticket=\{"topic":"t","partition":0,"offset":"5"\}/);
  assert.match(line, /value=\[1048576 bytes\]/);
  assert.match(line, /cyclic=\{"a":1,"self":"\[circular\]"\}/);
  assert.match(line, /camera=x{512}…\(3000 chars\)/);
  assert.ok(line.length < 2000, `line is ${line.length} chars`);
  assert.equal(formatField(new Error('boom')), '"boom"');
});
