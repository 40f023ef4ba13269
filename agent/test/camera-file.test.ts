// The file source replaying the real vtest clip (fixtures/vtest.mp4) and a
// folder of real JPEG frames taken from it.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { CameraUnavailableError, createFileSource } from '../src/camera/index.js';
import { probeFps } from '../src/camera/file.js';
import { captureLog, FIXTURES, isCompleteJpeg, take } from './fixtures/helpers.js';

const VIDEO = path.join(FIXTURES, 'vtest.mp4');
const FOLDER = path.join(FIXTURES, 'vtest-frames');
const FOLDER_FILES = ['frame-01.jpg', 'frame-02.jpg', 'frame-03.jpg', 'frame-04.jpg', 'frame-05.jpg', 'frame-06.jpg'];

describe('file source', () => {
  test('reads the native frame rate of a video', async () => {
    assert.equal(await probeFps(VIDEO, 'ffprobe', captureLog().logger), 10);
  });

  test('replays a video as full-size JPEG frames paced at its native rate', async () => {
    const source = createFileSource({ path: VIDEO }, captureLog().logger);
    await source.start();
    const t0 = performance.now();
    const frames = await take(source.frames(), 6);
    const elapsed = performance.now() - t0;
    await source.stop();

    assert.equal(frames.length, 6);
    for (const f of frames) {
      assert.ok(isCompleteJpeg(f.jpeg));
      assert.deepEqual({ width: f.width, height: f.height }, { width: 768, height: 576 });
    }
    assert.equal((await sharp(frames[3]!.jpeg).metadata()).height, 576);
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.capturedAt > frames[i - 1]!.capturedAt);
    // 10 fps: six frames span at least five intervals of 100 ms (a lower bound only).
    assert.ok(elapsed >= 450, `paced: ${elapsed.toFixed(0)} ms for 6 frames`);
    assert.ok(frames[5]!.capturedAt - frames[0]!.capturedAt >= 450);
  });

  test('loops a video at its end', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fl-file-'));
    const clip = path.join(dir, 'clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-i', VIDEO, '-t', '0.5', '-c:v', 'libx264', '-preset', 'ultrafast', clip]);
    const source = createFileSource({ path: clip }, captureLog().logger);
    await source.start();
    const frames = await take(source.frames(), 8);
    await source.stop();

    // 0.5 s at 10 fps is 5 frames per pass; the second pass repeats the first byte for byte.
    assert.equal(frames.length, 8);
    for (let i = 0; i < 3; i++) assert.ok(frames[5 + i]!.jpeg.equals(frames[i]!.jpeg), `frame ${5 + i} repeats frame ${i}`);
    assert.ok(!frames[1]!.jpeg.equals(frames[0]!.jpeg), 'frames within a pass differ');
    assert.equal(source.stats().restarts, 0, 'looping is not a failure');
  });

  test('replays a folder of JPEGs in name order, looping', async () => {
    const source = createFileSource({ path: FOLDER, fps: 25 }, captureLog().logger);
    await source.start();
    const frames = await take(source.frames(), 8);
    await source.stop();
    const files = FOLDER_FILES.map((f) => readFileSync(path.join(FOLDER, f)));
    frames.forEach((f, i) => assert.ok(f.jpeg.equals(files[i % files.length]!), `frame ${i} is ${FOLDER_FILES[i % files.length]}`));
    assert.deepEqual({ width: frames[0]!.width, height: frames[0]!.height }, { width: 384, height: 288 });
  });

  test('ends the stream after one pass when loop is off', async () => {
    const source = createFileSource({ path: FOLDER, fps: 50, loop: false }, captureLog().logger);
    await source.start();
    const frames = await take(source.frames(), 100);
    assert.equal(frames.length, FOLDER_FILES.length);
    await source.stop();
  });

  test('refuses a missing file with a clear error', async () => {
    const source = createFileSource({ path: path.join(FIXTURES, 'no-such-video.mp4') }, captureLog().logger);
    await assert.rejects(source.start(), (err: Error) => err instanceof CameraUnavailableError && /does not exist/.test(err.message));
  });

  test('retries with backoff when ffmpeg cannot decode the file', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'fl-file-'));
    const bogus = path.join(dir, 'bogus.mp4');
    execFileSync('sh', ['-c', `head -c 5000 /dev/zero > ${bogus}`]);
    const log = captureLog();
    const source = createFileSource({ path: bogus, fps: 10, restart: { initialMs: 50, maxMs: 100 } }, log.logger);
    await source.start();
    const deadline = Date.now() + 20_000;
    while (source.stats().restarts < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await source.stop();
    assert.ok(source.stats().restarts >= 2, 'ffmpeg restarted');
    assert.ok(log.find('warn', 'replay failed').length >= 2);
  });
});
