// Fuzz: the frame record decoder and the JPEG layout walker on 80,000
// mutated records (seeded; the seed is printed, FRAMELINE_FUZZ_SEED
// replays it). Every outcome is a valid Frame or a FrameValidationError with
// a known code; nothing else is thrown, nothing hangs, memory stays flat.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameValidationError, cameraIdProblem, decodeFrame, encodeFrame, readJpegLayout, type ConsumedRecord, type FrameErrorCode,
} from '../src/index.js';
import { fuzzCases, seededRandom, type Random } from '../src/testing/random.js';
import { realJpeg } from './jpeg.js';

const CODES = new Set<FrameErrorCode>(['empty-value', 'oversized-value', 'not-jpeg', 'truncated-jpeg', 'corrupt-jpeg', 'too-many-pixels', 'bad-camera-id', 'missing-header', 'bad-header', 'unsupported-schema']);
const HEADERS = ['content-type', 'fl-schema', 'fl-camera', 'fl-run', 'fl-seq', 'fl-captured-at', 'fl-width', 'fl-height', 'fl-motion'];

type Headers = NonNullable<ConsumedRecord['headers']>;

function mutateBytes(r: Random, value: Buffer): Buffer {
  const out = Buffer.from(value);
  switch (r.int(6)) {
    case 0: for (let i = 0, n = 1 + r.int(8); i < n; i++) out[r.int(out.length)] = r.int(256); return out;
    case 1: return out.subarray(0, r.int(out.length));
    case 2: return Buffer.concat([out, r.bytes(r.int(300))]);
    case 3: { const at = r.int(out.length); return Buffer.concat([out.subarray(0, at), r.bytes(1 + r.int(64)), out.subarray(at)]); }
    case 4: { const at = r.int(out.length); out[at] = 0xff; if (at + 1 < out.length) out[at + 1] = r.pick([0xd8, 0xd9, 0xda, 0xc0, 0xc4, 0xdb, 0x00, 0xff, 0xe1]); return out; }
    default: return r.bytes(r.int(2048));
  }
}

function mutateHeaders(r: Random, headers: Headers): Headers {
  const out: Headers = { ...headers };
  const name = r.pick(HEADERS);
  switch (r.int(6)) {
    case 0: delete out[name]; break;
    case 1: out[name] = r.bytes(r.int(40)); break;
    case 2: out[name] = [Buffer.from('x'), r.bytes(r.int(10)), String(r.int(1000))]; break;
    case 3: out[name] = r.pick(['', '-1', '1e309', 'NaN', '0x10', ' 5', '5 ', '9007199254740993', '1.5', '..', 'CAMERA-1/../x', 'A'.repeat(3000)]); break;
    case 4: out[name] = undefined; break;
    default: out[name] = Buffer.from([0xc3, 0x28, 0xa0, 0xa1]);
  }
  return out;
}

function check(record: ConsumedRecord, maxBytes: number): string {
  try {
    const frame = decodeFrame(record, { maxBytes, maxPixels: 1 << 20 });
    assert.equal(cameraIdProblem(frame.camera), undefined, `accepted camera ${JSON.stringify(frame.camera.slice(0, 50))}`);
    assert.ok(Number.isSafeInteger(frame.seq) && frame.seq >= 0);
    assert.ok(Number.isFinite(frame.capturedAt));
    assert.ok(frame.jpeg === record.value, 'value passed on untouched');
    const layout = readJpegLayout(frame.jpeg);
    assert.ok(!('code' in layout), 'an accepted value has a complete JPEG layout');
    return 'ok';
  } catch (err) {
    if (!(err instanceof FrameValidationError)) throw new Error(`untyped error for a hostile record: ${(err as Error).stack}`);
    assert.ok(CODES.has(err.code), err.code);
    assert.ok(err.header.length < 400, `fl-error of ${err.header.length} chars`);
    return err.code;
  }
}

test('fuzz: 80,000 mutated records decode to a Frame or a typed FrameValidationError', async () => {
  const r = seededRandom();
  const jpegs = await Promise.all([realJpeg(64, 48, 1), realJpeg(32, 32, 2), realJpeg(17, 9, 3)]);
  const counts = new Map<string, number>();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  const CASES = fuzzCases(80_000);
  for (let i = 0; i < CASES; i++) {
    const frame = { camera: `CAMERA-${1 + r.int(3)}`, run: 'b9c591a4-d40f-40c0-b382-1be90df76ec3', seq: r.int(1e6), capturedAt: 1_764_000_000_000 + r.int(1e6), width: 64, height: 48, jpeg: r.pick(jpegs) };
    const m = encodeFrame(frame);
    let headers: Headers = m.headers;
    let value: Buffer | null = m.value;
    const ops = r.int(4);
    for (let k = 0; k < ops; k++) {
      if (r.int(2) === 0) value = mutateBytes(r, value ?? Buffer.alloc(0));
      else headers = mutateHeaders(r, headers);
    }
    if (r.int(200) === 0) value = null;
    const record: ConsumedRecord = { key: r.int(10) === 0 ? r.bytes(r.int(20)) : m.key, value, timestamp: m.timestamp, offset: String(i), headers };
    const outcome = check(record, r.int(20) === 0 ? 512 : 1 << 20);
    counts.set(outcome, (counts.get(outcome) ?? 0) + 1);
  }
  const ms = performance.now() - started;
  const grew = process.memoryUsage().rss - rssBefore;
  console.log(`seed ${r.seed}: ${CASES} records in ${ms.toFixed(0)} ms, RSS +${(grew / 2 ** 20).toFixed(1)} MiB`, Object.fromEntries([...counts].sort()));
  assert.ok((counts.get('ok') ?? 0) > 1000, 'unmutated and harmlessly mutated records still decode');
  assert.ok(counts.size >= 8, 'the mutations reach most error codes');
  assert.ok(grew < 256 * 2 ** 20, `RSS grew ${grew} bytes`);
});
