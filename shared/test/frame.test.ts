import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFrame, encodeFrame, FrameValidationError, type ConsumedRecord, type Frame } from '../src/index.js';
import { realJpeg } from './jpeg.js';

const MAX = 8 * 1024 * 1024;

async function sampleFrame(): Promise<Frame> {
  return {
    camera: 'CAMERA-2', run: '6f1c2a4e-9d0b-4c55-8a8e-2b8f0f7d1c11', seq: 41,
    capturedAt: 1764000000123.25, width: 64, height: 48, motion: 0.125, jpeg: await realJpeg(64, 48),
  };
}

/** What a consumer sees: headers come back as Buffers. */
function asConsumed(msg: ReturnType<typeof encodeFrame>, offset = '7'): ConsumedRecord {
  return {
    key: msg.key, value: msg.value, timestamp: msg.timestamp, offset,
    headers: Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, Buffer.from(v)])),
  };
}

test('encode then decode returns the same frame, bytes untouched', async () => {
  const frame = await sampleFrame();
  const msg = encodeFrame(frame);
  assert.equal(msg.key.toString(), 'CAMERA-2');
  assert.equal(msg.timestamp, '1764000000123');
  assert.equal(msg.headers['content-type'], 'image/jpeg');
  assert.equal(msg.headers['fl-schema'], '1');
  assert.equal(msg.headers['fl-captured-at'], '1764000000123.25');
  assert.equal(msg.value, frame.jpeg);
  const back = decodeFrame(asConsumed(msg), { maxBytes: MAX });
  assert.deepEqual(back, frame);
});

test('decode without motion header leaves motion undefined', async () => {
  const { motion: _m, ...rest } = await sampleFrame();
  const back = decodeFrame(asConsumed(encodeFrame(rest)), { maxBytes: MAX });
  assert.equal(back.motion, undefined);
  assert.equal(back.seq, 41);
});

function expectCode(record: ConsumedRecord, code: string, maxBytes = MAX): FrameValidationError {
  try {
    decodeFrame(record, { maxBytes });
  } catch (err) {
    assert.ok(err instanceof FrameValidationError, `expected FrameValidationError, got ${err}`);
    assert.equal(err.code, code, err.message);
    assert.match(err.header, new RegExp(`^${code}: `));
    return err;
  }
  assert.fail(`expected ${code}`);
}

test('validation names what is wrong: missing, garbled and unsupported headers', async () => {
  const good = asConsumed(encodeFrame(await sampleFrame()));
  const without = (name: string) => ({ ...good, headers: Object.fromEntries(Object.entries(good.headers!).filter(([k]) => k !== name)) });
  const withHeader = (name: string, v: string) => ({ ...good, headers: { ...good.headers, [name]: Buffer.from(v) } });
  assert.match(expectCode(without('fl-seq'), 'missing-header').message, /fl-seq/);
  assert.match(expectCode(without('fl-camera'), 'missing-header').message, /fl-camera/);
  expectCode({ ...good, headers: undefined }, 'missing-header');
  assert.match(expectCode(withHeader('fl-seq', 'forty'), 'bad-header').message, /fl-seq/);
  expectCode(withHeader('fl-seq', '-1'), 'bad-header');
  expectCode(withHeader('fl-captured-at', '12e'), 'bad-header');
  expectCode(withHeader('fl-motion', '1.5'), 'bad-header');
  expectCode(withHeader('fl-schema', '2'), 'unsupported-schema');
});

test('validation rejects empty, non-JPEG, truncated and oversized values', async () => {
  const good = asConsumed(encodeFrame(await sampleFrame()));
  expectCode({ ...good, value: Buffer.alloc(0) }, 'empty-value');
  expectCode({ ...good, value: null }, 'empty-value');
  expectCode({ ...good, value: Buffer.from('GIF89a not a jpeg at all') }, 'not-jpeg');
  expectCode({ ...good, value: good.value!.subarray(0, good.value!.length - 40) }, 'truncated-jpeg');
  expectCode(good, 'oversized-value', good.value!.length - 1);
});

test('foreign producers: camera from key or partition, order from offset, time from timestamp', async () => {
  const jpeg = await realJpeg(32, 24);
  const raw: ConsumedRecord = { key: Buffer.from('CAMERA-7'), value: jpeg, timestamp: '1764000000999', offset: '1234' };
  const byKey = decodeFrame(raw, { maxBytes: MAX, cameraFrom: 'key', topic: 'VideoStreaming', partition: 2 });
  assert.equal(byKey.camera, 'CAMERA-7');
  assert.equal(byKey.seq, 1234);
  assert.equal(byKey.capturedAt, 1764000000999);
  const byPartition = decodeFrame({ ...raw, key: null }, { maxBytes: MAX, cameraFrom: 'partition', topic: 'VideoStreaming', partition: 2 });
  assert.equal(byPartition.camera, 'CAMERA-3');
  assert.equal(byPartition.run, 'VideoStreaming/2');
  assert.throws(() => decodeFrame({ ...raw, key: null }, { maxBytes: MAX, cameraFrom: 'key' }), FrameValidationError);
});
