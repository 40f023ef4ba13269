// The broken-camera judgement (frame-health.ts) as a pure function of frame
// outcomes: raised once per episode when nearly every frame of a full window
// is broken, cleared with hysteresis, and never by the one cut frame that
// each camera restart costs.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createFrameHealth, DEFAULT_FRAME_HEALTH, type FrameHealthOptions } from '../src/camera/frame-health.js';
import type { JpegSplitterStats } from '../src/camera/jpeg-splitter.js';
import { captureLog } from './fixtures/helpers.js';

const options: FrameHealthOptions = { ...DEFAULT_FRAME_HEALTH, window: 20 };
const splitter = (s: Partial<JpegSplitterStats>): JpegSplitterStats => ({
  frames: 0, discardedBytes: 0, strayBytes: 0, truncatedFrames: 0, oversizedFrames: 0, corruptFrames: 0, peakBufferedBytes: 0, ...s,
});

test('nearly every frame broken raises broken once per episode, and a mostly good window clears it', () => {
  const log = captureLog();
  const health = createFrameHealth(options, log.logger);
  for (let i = 0; i < 17; i++) health.undecodable();
  assert.equal(health.stats().broken, false, 'not judged before the window is full');
  for (let i = 0; i < 3; i++) health.undecodable();
  assert.equal(health.stats().broken, true);
  for (let i = 0; i < 200; i++) {
    if (i % 10 === 0) health.good();
    else health.undecodable();
  }
  assert.equal(health.stats().broken, true, 'still broken at 90%');
  assert.equal(log.find('warn', 'camera output is broken').length, 1, 'one warning for the whole episode');
  for (let i = 0; i < 8; i++) health.good();
  assert.equal(health.stats().broken, true, 'hysteresis: 11 of 20 broken (55%) keeps it raised');
  health.good();
  assert.equal(health.stats().broken, false, 'cleared at half the window');
  assert.equal(log.find('info', 'camera output is usable again').length, 1);
  for (let i = 0; i < 40; i++) health.undecodable();
  assert.equal(log.find('warn', 'camera output is broken').length, 2, 'a new episode warns again');
  assert.equal(health.stats().brokenFrames, 17 + 3 + 180 + 40);
});

test('a camera that dies after every few good frames (one cut frame per restart) is not broken', () => {
  const health = createFrameHealth(options, captureLog().logger);
  let truncatedFrames = 0;
  for (let restart = 0; restart < 50; restart++) {
    for (let i = 0; i < 3; i++) health.good();
    health.fromSplitter(splitter({ truncatedFrames: ++truncatedFrames }));
  }
  assert.equal(health.stats().broken, false);
  assert.equal(health.stats().brokenFrames, 50);
  assert.ok(health.stats().brokenShare <= 0.3, `share ${health.stats().brokenShare}`);
});

test('cut, corrupt and oversized frames and stray bytes count from the splitter\'s cumulative counters', () => {
  const health = createFrameHealth(options, captureLog().logger);
  health.fromSplitter(splitter({ truncatedFrames: 5, corruptFrames: 2, oversizedFrames: 1, strayBytes: 64 * 1024 - 1 }));
  assert.equal(health.stats().brokenFrames, 8, 'stray bytes below one unit are carried, not counted');
  health.fromSplitter(splitter({ truncatedFrames: 5, corruptFrames: 2, oversizedFrames: 1, strayBytes: 12 * 64 * 1024 }));
  assert.equal(health.stats().brokenFrames, 8 + 12, 'the same counters again add nothing; the carry completes a unit');
  assert.equal(health.stats().broken, true, 'a full window of 20, all broken');
  assert.equal(health.stats().brokenShare, 1);
});
