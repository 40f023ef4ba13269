// The rpicam source against stand-in camera executables (fixtures/bin*) that
// write real MJPEG streams. PATH holds only the fixture folder, so the tests
// also prove which binary was chosen.
import { strict as assert } from 'node:assert';
import { chmodSync, mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import sharp from 'sharp';
import { createRpicamSource, CameraUnavailableError, jpegSize, type CameraSource, type RpicamOptions } from '../src/camera/index.js';
import { waitFor } from '@frameline/shared/testing';
import { captureLog, FIXTURES, isCompleteJpeg, take } from './fixtures/helpers.js';

const BIN = path.join(FIXTURES, 'bin');
const LEGACY_BIN = path.join(FIXTURES, 'bin-legacy');
for (const f of [path.join(BIN, 'rpicam-vid'), path.join(LEGACY_BIN, 'libcamera-vid')]) chmodSync(f, 0o755);
const tmp = mkdtempSync(path.join(tmpdir(), 'fl-rpicam-'));

interface FakeEvent {
  event: 'start' | 'exit' | 'written';
  name: string;
  args: string[];
  pid: number;
  t: number;
  signal?: string;
}

let runs = 0;
/** A source wired to the stand-in: `mode` picks its behaviour, its events land in a fresh log file. */
function fakeCamera(mode: string, options: Partial<RpicamOptions> = {}, binDir = BIN, extraEnv: NodeJS.ProcessEnv = {}) {
  const logFile = path.join(tmp, `run-${++runs}.jsonl`);
  const log = captureLog();
  const source = createRpicamSource(
    {
      width: 320,
      height: 240,
      framerate: 20,
      env: { PATH: binDir, FAKE_CAMERA_MODE: mode, FAKE_CAMERA_LOG: logFile, FAKE_CAMERA_NODE: process.execPath, ...extraEnv },
      ...options,
    },
    log.logger,
  );
  const events = (): FakeEvent[] =>
    existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as FakeEvent) : [];
  const starts = () => events().filter((e) => e.event === 'start');
  return { source, log, events, starts };
}

const started: CameraSource[] = [];
after(async () => {
  await Promise.all(started.map((s) => s.stop()));
});
async function start(source: CameraSource): Promise<void> {
  started.push(source);
  await source.start();
}

describe('rpicam source', () => {
  test('streams complete JPEG frames of the configured size with increasing capture times', async () => {
    const cam = fakeCamera('normal');
    await start(cam.source);
    const frames = await take(cam.source.frames(), 12);
    await cam.source.stop();

    assert.equal(frames.length, 12);
    for (const f of frames) {
      assert.ok(isCompleteJpeg(f.jpeg));
      assert.deepEqual({ width: f.width, height: f.height }, { width: 320, height: 240 });
      assert.deepEqual(jpegSize(f.jpeg), { width: 320, height: 240 });
    }
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.capturedAt > frames[i - 1]!.capturedAt, `capturedAt increases at ${i}`);
    assert.ok(Math.abs(frames[0]!.capturedAt - Date.now()) < 60_000, 'capturedAt is epoch ms');
    const meta = await sharp(frames[5]!.jpeg).metadata();
    assert.equal(meta.width, 320);

    const [run] = cam.starts();
    assert.equal(run?.name, 'rpicam-vid');
    assert.deepEqual(run?.args, ['--codec', 'mjpeg', '--width', '320', '--height', '240', '--framerate', '20', '-t', '0', '-n', '-o', '-']);
    const stats = cam.source.stats();
    assert.ok(stats.frames >= 12);
    assert.equal(stats.restarts, 0);
    assert.equal(stats.stalled, false);
    assert.equal(stats.discardedBytes, 0);
    assert.ok(cam.log.find('info', 'fake rpicam-vid: 320x240').length === 1, 'camera stderr is logged');
  });

  test('passes extra args before the output flag', async () => {
    const cam = fakeCamera('normal', { extraArgs: ['--rotation', '180'] });
    await start(cam.source);
    await take(cam.source.frames(), 1);
    await cam.source.stop();
    assert.deepEqual(cam.starts()[0]?.args.slice(-4), ['--rotation', '180', '-o', '-']);
  });

  test('restarts a camera process that dies, with backoff, and frames resume', async () => {
    const cam = fakeCamera('die', { restart: { initialMs: 300, maxMs: 1000, jitter: 0 } }, BIN, { FAKE_CAMERA_FRAMES: '3' });
    await start(cam.source);
    const frames = await take(cam.source.frames(), 9, 30_000);
    await waitFor('third process start', () => cam.starts().length >= 3);
    await cam.source.stop();

    assert.equal(frames.length, 9, 'frames keep coming across restarts');
    const stats = cam.source.stats();
    assert.ok(stats.restarts >= 2, `restarts counted: ${stats.restarts}`);
    const events = cam.events();
    // Every gap between a process's exit and the next start honours the backoff (lower bound only).
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.event !== 'exit' || e.signal) continue;
      const next = events.slice(i + 1).find((n) => n.event === 'start');
      if (next) assert.ok(next.t - e.t >= 250, `restart waited ${next.t - e.t} ms`);
    }
    assert.ok(cam.log.find('warn', 'Device timeout detected').length >= 2, 'ERROR lines from the camera are warnings');
    assert.ok(cam.log.find('warn', 'camera process ended').length >= 2);
  });

  test('backs off exponentially while the camera fails at once, and rate-limits restarts loudly', async () => {
    const cam = fakeCamera('fail', { restart: { initialMs: 100, maxMs: 400, jitter: 0, maxRestarts: 4, windowMs: 60_000 } });
    await start(cam.source);
    await waitFor('rate limit reached', () => cam.log.find('error', 'rate limit').length > 0);
    const starts = cam.starts();
    const restartsAtLimit = cam.source.stats().restarts;
    await new Promise((resolve) => setTimeout(resolve, 600));
    await cam.source.stop();

    assert.equal(starts.length, 5, 'the first start and 4 restarts');
    const gaps = starts.slice(1).map((s, i) => s.t - starts[i]!.t);
    const minimum = [100, 200, 400, 400];
    gaps.forEach((gap, i) => assert.ok(gap >= minimum[i]! - 20, `gap ${i} is ${gap} ms, backoff ${minimum[i]} ms`));
    assert.equal(restartsAtLimit, 4);
    assert.equal(cam.source.stats().restarts, 4, 'no restart while limited');
    assert.equal(cam.source.stats().frames, 0);
  });

  test('reports a stalled camera and restarts its process', async () => {
    const cam = fakeCamera('stall', { stallSeconds: 2, restart: { initialMs: 50, jitter: 0 } });
    await start(cam.source);
    const frames = cam.source.frames();
    await take(frames, 2);
    await waitFor('stall reported', () => cam.source.stats().stalled);
    assert.equal(cam.source.stats().stalls, 1);
    assert.ok(cam.log.find('warn', 'camera stalled').length >= 1);
    await take(frames, 2); // the restarted process delivers again
    await cam.source.stop();

    const stats = cam.source.stats();
    assert.equal(stats.stalled, false, 'a frame clears the stall');
    assert.ok(stats.restarts >= 1);
    const events = cam.events();
    assert.ok(events.some((e) => e.event === 'exit' && e.signal === 'SIGTERM'), 'the stuck process was terminated');
    assert.ok(cam.starts().length >= 2);
    assert.ok(cam.log.find('info', 'camera delivers frames again').length >= 1);
  });

  test('recovers every complete frame from a stream with garbage, a truncated and an oversized frame', async () => {
    const maxFrameBytes = 64 * 1024;
    const cam = fakeCamera('garbage', { maxFrameBytes, queueFrames: 10 }, BIN, { FAKE_CAMERA_JUNK: '100000' });
    await start(cam.source);
    const frames = await take(cam.source.frames(), 6);
    await waitFor('the stand-in wrote its script', () => cam.events().some((e) => e.event === 'written'));
    await new Promise((resolve) => setTimeout(resolve, 300)); // a 7th (corrupt) frame would have arrived by now
    await cam.source.stop();

    assert.equal(cam.source.stats().frames, 6, 'exactly the 6 complete frames');
    for (const f of frames) {
      assert.ok(isCompleteJpeg(f.jpeg));
      const { width, height } = await sharp(f.jpeg).metadata();
      assert.deepEqual({ width, height }, { width: 320, height: 240 });
      await sharp(f.jpeg).raw().toBuffer(); // decodes without error
    }
    const stats = cam.source.stats();
    assert.equal(stats.oversizedFrames, 1);
    assert.ok(stats.truncatedFrames >= 1, `truncated: ${stats.truncatedFrames}`);
    assert.ok(stats.discardedBytes >= 2000 + 5000 + 300 + 100_000 / 2, `discarded: ${stats.discardedBytes}`);
    assert.equal(stats.restarts, 0);
  });

  test('falls back to libcamera-vid when rpicam-vid is not on PATH', async () => {
    const cam = fakeCamera('normal', {}, LEGACY_BIN);
    await start(cam.source);
    const frames = await take(cam.source.frames(), 3);
    await cam.source.stop();
    assert.equal(frames.length, 3);
    assert.equal(cam.starts()[0]?.name, 'libcamera-vid');
    assert.ok(cam.log.find('info', /starting camera .*libcamera-vid/).length === 1);
  });

  test('refuses to start without a camera binary, saying what to install', async () => {
    const cam = fakeCamera('normal', {}, tmp);
    await assert.rejects(cam.source.start(), (err: Error) => err instanceof CameraUnavailableError && /rpicam-apps/.test(err.message));
    assert.equal(cam.starts().length, 0);
  });
});
