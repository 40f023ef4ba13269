// The frame pipeline on real JPEGs: frames from the vtest clip
// (fixtures/vtest-frames) and variants of them made with sharp.
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { before, describe, test } from 'node:test';
import sharp from 'sharp';
import { createSyntheticSource, jpegSize, type CapturedFrame } from '../src/camera/index.js';
import { createPipeline, createSharpCodec, type FrameCodec, type PipelineOptions, type ReadyFrame } from '../src/pipeline/index.js';
import { captureLog, FIXTURES, isCompleteJpeg } from './fixtures/helpers.js';

const T0 = 1_700_000_000_000;
let vtest: Buffer[] = [];

before(() => {
  vtest = [1, 2, 3, 4, 5, 6].map((n) => readFileSync(path.join(FIXTURES, 'vtest-frames', `frame-0${n}.jpg`)));
});

function frame(jpeg: Buffer, capturedAt: number): CapturedFrame {
  const size = jpegSize(jpeg);
  assert.ok(size, 'test frames are JPEGs');
  return { jpeg, capturedAt, ...size };
}

async function* stream(frames: CapturedFrame[]): AsyncGenerator<CapturedFrame> {
  yield* frames;
}

/** The sharp codec, counting every decode (and optionally slowed down). */
function countingCodec(delayMs = 0) {
  const inner = createSharpCodec();
  const calls = { thumbnails: 0, resizes: 0 };
  const codec: FrameCodec = {
    async grayThumbnail(jpeg, w, h) {
      calls.thumbnails++;
      if (delayMs) await sleep(delayMs);
      return inner.grayThumbnail(jpeg, w, h);
    },
    async resize(jpeg, box, quality) {
      calls.resizes++;
      return inner.resize(jpeg, box, quality);
    },
  };
  return { codec, calls };
}

/** Runs a whole array through; room for all of them to wait unless the test says otherwise. */
async function runAll(options: PipelineOptions, frames: CapturedFrame[]) {
  const pipeline = createPipeline({ waitingFrames: frames.length, ...options }, captureLog().logger);
  const out: ReadyFrame[] = [];
  for await (const f of pipeline.run(stream(frames))) out.push(f);
  return { out, stats: pipeline.stats() };
}

describe('pipeline', () => {
  test('passes frames through untouched and never decodes them when neither gate nor resize is on', async () => {
    const { codec, calls } = countingCodec();
    const input = vtest.map((j, i) => frame(j, T0 + i * 100));
    const { out, stats } = await runAll({ codec }, input);
    assert.equal(out.length, 6);
    out.forEach((f, i) => {
      assert.equal(f.jpeg, input[i]!.jpeg, 'the very same buffer');
      assert.deepEqual([f.capturedAt, f.width, f.height, f.motion], [input[i]!.capturedAt, 384, 288, undefined]);
    });
    assert.deepEqual(calls, { thumbnails: 0, resizes: 0 });
    assert.deepEqual([stats.captured, stats.passed, stats.resized], [6, 6, 0]);
  });

  test('does not decode frames that already fit the resize box', async () => {
    const { codec, calls } = countingCodec();
    const { out, stats } = await runAll({ codec, resize: { maxWidth: 1280, maxHeight: 720 } }, vtest.map((j, i) => frame(j, T0 + i)));
    assert.equal(out.length, 6);
    assert.equal(calls.resizes, 0);
    assert.equal(stats.resized, 0);
  });

  test('resizes larger frames into the box, keeping the aspect ratio, and reports the new size', async () => {
    const { codec, calls } = countingCodec();
    const { out, stats } = await runAll({ codec, resize: { maxWidth: 192, quality: 70 } }, vtest.map((j, i) => frame(j, T0 + i)));
    assert.equal(out.length, 6);
    for (const f of out) {
      assert.ok(isCompleteJpeg(f.jpeg));
      assert.deepEqual([f.width, f.height], [192, 144]);
      assert.deepEqual(jpegSize(f.jpeg), { width: 192, height: 144 });
      assert.equal((await sharp(f.jpeg).metadata()).width, 192);
    }
    assert.equal(calls.resizes, 6);
    assert.equal(stats.resized, 6);
    assert.equal(calls.thumbnails, 0);
  });

  test('caps the frame rate by capture time, counting the dropped frames, without decoding', async () => {
    const { codec, calls } = countingCodec();
    const fast = Array.from({ length: 90 }, (_, i) => frame(vtest[0]!, T0 + i * (1000 / 30))); // 3 s at 30 fps
    const { out, stats } = await runAll({ codec, maxFps: 10 }, fast);
    assert.ok(out.length >= 29 && out.length <= 31, `about 10 fps kept: ${out.length}`);
    assert.equal(stats.droppedByFps, 90 - out.length);
    assert.equal(stats.captured, 90);
    assert.equal(calls.thumbnails + calls.resizes, 0);

    // A camera at the cap keeps every frame despite timing jitter.
    const jitter = [0, 4, -3, 5, -5, 2, 0, -4, 3, 1];
    const atCap = jitter.map((j, i) => frame(vtest[0]!, T0 + i * 100 + j));
    const capped = await runAll({ maxFps: 10 }, atCap);
    assert.equal(capped.out.length, 10);
    assert.equal(capped.stats.droppedByFps, 0);
  });

  test('motion gate drops unchanged frames, passes changed ones and emits the score', async () => {
    const a = vtest[0]!;
    const mirrored = await sharp(a).flop().jpeg().toBuffer();
    const input = [a, a, a, mirrored, mirrored].map((j, i) => frame(j, T0 + i * 100));
    const { out, stats } = await runAll({ motion: { threshold: 0.02, keepAliveSeconds: 60 } }, input);
    assert.equal(out.length, 2);
    assert.equal(out[0]!.jpeg, a);
    assert.equal(out[0]!.motion, 1, 'the first frame has nothing to compare with');
    assert.equal(out[1]!.jpeg, mirrored);
    assert.ok(out[1]!.motion! > 0.02 && out[1]!.motion! <= 1, `score ${out[1]!.motion}`);
    assert.equal(stats.droppedByGate, 3);
    assert.equal(stats.passed, 2);
  });

  test('motion gate compares with the last passed frame, so slow changes add up', async () => {
    // Each frame is 4 grey levels brighter than the one before: ~0.016 apart, 0.031 after two steps.
    const steps = await Promise.all([0, 4, 8, 12, 16].map((d) => sharp(vtest[0]!).linear(1, d).jpeg({ quality: 95 }).toBuffer()));
    const { out, stats } = await runAll({ motion: { threshold: 0.022, keepAliveSeconds: 60 } }, steps.map((j, i) => frame(j, T0 + i * 100)));
    assert.deepEqual(out.map((f) => steps.findIndex((s) => s === f.jpeg)), [0, 2, 4]);
    assert.equal(stats.droppedByGate, 2);
  });

  test('motion scores of real consecutive frames are small but not zero', async () => {
    const { out } = await runAll({ motion: { threshold: 0, keepAliveSeconds: 60 } }, vtest.map((j, i) => frame(j, T0 + i * 100)));
    assert.equal(out.length, 6);
    for (const f of out.slice(1)) assert.ok(f.motion! > 0.001 && f.motion! < 0.05, `score ${f.motion}`);
  });

  test('motion gate passes a keep-alive frame every keepAliveSeconds without motion', async () => {
    const input = Array.from({ length: 6 }, (_, i) => frame(vtest[0]!, T0 + i * 1000));
    const { out, stats } = await runAll({ motion: { threshold: 0.01, keepAliveSeconds: 2 } }, input);
    assert.deepEqual(out.map((f) => f.capturedAt - T0), [0, 2000, 4000]);
    assert.equal(stats.keepAlive, 2);
    assert.equal(stats.droppedByGate, 3);
    assert.equal(out[1]!.motion, 0);
  });

  test('when processing falls behind it drops the oldest waiting frames and delivers the newest', async () => {
    const { codec } = countingCodec(30);
    const input = Array.from({ length: 40 }, (_, i) => frame(vtest[i % 6]!, T0 + i * 10));
    const { out, stats } = await runAll({ codec, motion: { threshold: 0, keepAliveSeconds: 60 }, waitingFrames: 2 }, input);
    assert.ok(stats.droppedBehind > 0, `dropped behind: ${stats.droppedBehind}`);
    assert.equal(stats.captured, 40);
    assert.equal(stats.passed + stats.droppedBehind + stats.droppedByGate, 40);
    assert.equal(out.at(-1)!.capturedAt, input.at(-1)!.capturedAt, 'the newest frame is delivered');
    for (let i = 1; i < out.length; i++) assert.ok(out[i]!.capturedAt > out[i - 1]!.capturedAt, 'order kept');
  });

  test('a frame that cannot be decoded is counted and skipped', async () => {
    const broken = Buffer.concat([vtest[0]!.subarray(0, 600), Buffer.from([0xff, 0xd9])]);
    const input = [frame(vtest[0]!, T0), { jpeg: broken, capturedAt: T0 + 100, width: 384, height: 288 }, frame(vtest[5]!, T0 + 200)];
    const { out, stats } = await runAll({ motion: { threshold: 0, keepAliveSeconds: 60 } }, input);
    assert.equal(stats.failed, 1);
    assert.deepEqual(out.map((f) => f.capturedAt - T0), [0, 200]);
  });

  test('runs on a live source: still frames are gated away, the rest flows', async () => {
    const log = captureLog();
    const source = createSyntheticSource({ width: 320, height: 180, fps: 30, content: 'still', cycleFrames: 1 }, log.logger);
    const pipeline = createPipeline({ maxFps: 15, motion: { threshold: 0.01, keepAliveSeconds: 60 }, resize: { maxWidth: 160 } }, log.logger);
    await source.start();
    const out: ReadyFrame[] = [];
    const consuming = (async () => {
      for await (const f of pipeline.run(source.frames())) out.push(f);
    })();
    await sleep(1000);
    await source.stop();
    await consuming; // the source ending ends the pipeline's stream
    const stats = pipeline.stats();
    assert.equal(out.length, 1, 'only the first frame passes the gate');
    assert.deepEqual([out[0]!.width, out[0]!.height], [160, 90]);
    assert.ok(stats.droppedByGate >= 3, `gated: ${stats.droppedByGate}`);
    assert.ok(stats.droppedByFps >= 3, `capped: ${stats.droppedByFps}`);
    assert.equal(stats.captured, stats.passed + stats.droppedByFps + stats.droppedByGate + stats.droppedBehind);
    assert.equal(stats.passed, 1);
  });
});
