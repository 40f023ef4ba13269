// The synthetic source: generated JPEG frames for tests and benchmarks.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { createSyntheticSource, jpegSize } from '../src/camera/index.js';
import { waitFor } from '@frameline/shared/testing';
import { captureLog, isCompleteJpeg, take } from './fixtures/helpers.js';

describe('synthetic source', () => {
  test('generates decodable JPEGs of the configured size whose content moves', async () => {
    const source = createSyntheticSource({ width: 320, height: 180, fps: 50 }, captureLog().logger);
    await source.start();
    const frames = await take(source.frames(), 5);
    await source.stop();
    for (const f of frames) {
      assert.ok(isCompleteJpeg(f.jpeg));
      assert.deepEqual(jpegSize(f.jpeg), { width: 320, height: 180 });
      assert.deepEqual({ width: f.width, height: f.height }, { width: 320, height: 180 });
    }
    assert.ok(!frames[1]!.jpeg.equals(frames[0]!.jpeg), 'consecutive frames differ');
    const a = await sharp(frames[0]!.jpeg).raw().toBuffer();
    const b = await sharp(frames[4]!.jpeg).raw().toBuffer();
    assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 100), 'the box moved');
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.capturedAt > frames[i - 1]!.capturedAt);
  });

  test('cycles pre-rendered frames without encoding new ones', async () => {
    const source = createSyntheticSource({ width: 64, height: 48, fps: 100, cycleFrames: 3 }, captureLog().logger);
    await source.start();
    const frames = await take(source.frames(), 7);
    await source.stop();
    assert.equal(frames[3]!.jpeg, frames[0]!.jpeg, 'the same buffer comes round again');
    assert.equal(frames[6]!.jpeg, frames[0]!.jpeg);
    assert.notEqual(frames[1]!.jpeg, frames[0]!.jpeg);
  });

  test('still content repeats one image; maxFrames ends the stream', async () => {
    const source = createSyntheticSource({ width: 64, height: 48, fps: 100, content: 'still', maxFrames: 4 }, captureLog().logger);
    await source.start();
    const frames = await take(source.frames(), 10);
    await source.stop();
    assert.equal(frames.length, 4);
    assert.ok(frames.every((f) => f.jpeg.equals(frames[0]!.jpeg)));
  });

  test('keeps only the newest frames for a consumer that does not read, counting the rest', async () => {
    const source = createSyntheticSource({ width: 64, height: 48, fps: 200, cycleFrames: 2, queueFrames: 2 }, captureLog().logger);
    await source.start();
    await waitFor('frames dropped', () => source.stats().droppedFrames >= 10);
    await source.stop();
    const stats = source.stats();
    const left = await take(source.frames(), 100);
    assert.equal(left.length, 2, 'two frames were waiting');
    assert.equal(stats.frames - stats.droppedFrames, 2);
  });
});
