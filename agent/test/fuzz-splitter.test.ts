// Fuzz: the MJPEG stream splitter on 30,000 seeded streams (the seed is
// printed, FRAMELINE_FUZZ_SEED replays it): real frames with garbage between
// them, some frames cut or corrupted, fed in random chunk sizes. It never
// throws, never holds more than maxFrameBytes, only emits whole JPEGs (SOI
// to EOI), and emits every intact frame before the first broken one byte for
// byte, in order (and prints how many after it were recovered too).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { fuzzCases, rawJpeg, seededRandom, type Random } from '@frameline/shared/testing';
import { createJpegSplitter } from '../src/camera/index.js';

function jpeg(w: number, h: number, seed: number): Promise<Buffer> {
  return rawJpeg(w, h, (i) => (i * 13 + seed * 71) & 0xff, { quality: 85, progressive: seed % 2 === 0 });
}

/** Bytes between frames; no FF, so garbage never forms a marker by itself. */
const garbage = (r: Random, n: number) => Buffer.from(Array.from({ length: n }, () => r.int(255)));

function corrupt(r: Random, frame: Buffer): Buffer {
  const out = Buffer.from(frame);
  if (r.int(2) === 0) return out.subarray(0, 4 + r.int(out.length - 6)); // cut off before its EOI
  for (let i = 0, n = 1 + r.int(6); i < n; i++) out[2 + r.int(out.length - 4)] = r.int(256);
  return out;
}

test('fuzz: 30,000 MJPEG streams split into whole frames in bounded memory', async () => {
  const r = seededRandom();
  const frames = await Promise.all([jpeg(32, 24, 1), jpeg(48, 32, 2), jpeg(16, 16, 3), jpeg(96, 64, 4)]);
  const CASES = fuzzCases(30_000);
  let emitted = 0;
  let intactExpected = 0;
  let intactFound = 0;
  let afterExpected = 0;
  let afterFound = 0;
  const started = performance.now();
  for (let c = 0; c < CASES; c++) {
    const max = r.pick([1024, 2048, 4096, 1 << 16]);
    const parts: Buffer[] = [];
    const after: Buffer[] = [];
    const desc: string[] = [];
    const intact: Buffer[] = [];
    let previousCorrupt = false;
    for (let i = 0, n = 1 + r.int(4); i < n; i++) {
      if (r.int(3) === 0) parts.push(garbage(r, r.int(200)));
      if (parts.length > desc.length) desc.push(`garbage ${parts.at(-1)!.length}`);
      const f = r.pick(frames);
      const bad = r.int(4) === 0;
      parts.push(bad ? corrupt(r, f) : f);
      desc.push(`${bad ? 'corrupt ' : ''}frame ${frames.indexOf(f)} (${parts.at(-1)!.length}/${f.length} bytes)`);
      // A broken frame may take what follows with it: its bytes read as segment
      // lengths can hop over later frames' markers up to some EOI. So only frames
      // before the first broken one are promised; later ones are counted.
      if (!bad && f.length <= max) (previousCorrupt ? after : intact).push(f);
      previousCorrupt ||= bad;
    }
    // The camera keeps streaming: a broken frame still waiting for its end is given up
    // once maxFrameBytes have passed, and what it skipped over is searched again.
    if (previousCorrupt) parts.push(Buffer.alloc(max, 0x55));
    const stream = Buffer.concat(parts);
    const splitter = createJpegSplitter({ maxFrameBytes: max });
    const out: Buffer[] = [];
    for (let pos = 0; pos < stream.length; ) {
      const n = 1 + r.int(r.pick([3, 64, 2000]));
      out.push(...splitter.push(stream.subarray(pos, pos + n)));
      pos += n;
    }
    const stats = splitter.stats();
    assert.ok(stats.peakBufferedBytes <= max, `case ${c}: held ${stats.peakBufferedBytes} bytes, limit ${max}`);
    for (const f of out) {
      assert.ok(f.length <= max && f[0] === 0xff && f[1] === 0xd8 && f[2] === 0xff, `case ${c}: a frame that does not start with SOI`);
      assert.ok(f[f.length - 2] === 0xff && f[f.length - 1] === 0xd9, `case ${c}: a frame that does not end with EOI`);
    }
    // Every intact frame comes out unchanged, in order (as a subsequence of what came out).
    let k = 0;
    for (const f of out) if (k < intact.length && f.equals(intact[k]!)) k++;
    assert.equal(k, intact.length, `case ${c} (seed ${r.seed}, max ${max}): ${k} of ${intact.length} intact frames came out of [${desc.join(', ')}]; stats ${JSON.stringify(stats)}`);
    emitted += out.length;
    afterExpected += after.length;
    afterFound += after.filter((f) => out.some((o) => o.equals(f))).length;
    intactExpected += intact.length;
    intactFound += k;
  }
  console.log(`seed ${r.seed}: ${CASES} streams in ${(performance.now() - started).toFixed(0)} ms; ${emitted} frames emitted, ${intactFound}/${intactExpected} intact frames recovered; after a broken frame ${afterFound}/${afterExpected}`);
});

test('camera encoder padding (64 zero bytes after each EOI) costs no frame', async () => {
  const frames = await Promise.all([jpeg(64, 48, 5), jpeg(64, 48, 6), jpeg(32, 32, 7)]);
  const splitter = createJpegSplitter({ maxFrameBytes: 1 << 16 });
  const out = splitter.push(Buffer.concat(frames.flatMap((f) => [f, Buffer.alloc(64)])));
  assert.deepEqual(out, frames);
  assert.equal(splitter.stats().discardedBytes, 3 * 64, 'the padding is counted as discarded bytes, nothing else');
});
