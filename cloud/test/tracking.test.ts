/// <reference types="node" />
/**
 * Pose tracking's detection schedule (pure: ROIs predicted by velocity,
 * false-positive tracks dropped, searches for lost persons, when the full
 * detector runs) and, on real vtest.mp4 frames with the real models,
 * tracking against the detector on every frame: people found on the same
 * frames, and the carried tracks of the tiled detector's false positive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';
import { iou, type Box } from '../src/inference/box.js';
import { DEFAULT_DETECTOR_OPTIONS, tileRegions } from '../src/inference/detector.js';
import { createPoseModel, decodeJpeg, type PoseModel, type PoseResult, type Roi } from '../src/inference/index.js';
import { borderTiles, lumaGrid, searchRegion, unexplainedMotion } from '../src/inference/sweep.js';
import { createDetectionSchedule, DEFAULT_DETECTION_SCHEDULE, type DetectionScheduleOptions } from '../src/inference/tracking.js';

const CAMERA = 'CAMERA-1';
const RUN = 'run-1';
const options = (o: Partial<DetectionScheduleOptions> = {}): DetectionScheduleOptions => ({ ...DEFAULT_DETECTION_SCHEDULE, ...o });

/** A result as the model gives it: one person per ROI with that presence; `detected` says whether the full detector ran. */
function result(rois: Roi[], presence: number[], detected: boolean): PoseResult {
  const persons = rois.map((r, i) => ({ box: [r.cx - 20, r.cy - 50, 40, 100] as Box, score: presence[i]!, keypoints: [] }));
  return { persons, timings: { detectMs: 0, landmarksMs: 0, totalMs: 0 }, rois, detected };
}

const roi = (cx: number, cy: number, track?: number): Roi => ({ cx, cy, side: 120, rotation: 0, ...(track === undefined ? {} : { track }) });

describe('detection schedule', () => {
  test('a tracked ROI moves by the track velocity to the next frame time (a walker at 5 fps stays in its crop)', () => {
    const s = createDetectionSchedule(options());
    assert.deepEqual(s.hint(CAMERA, RUN, 0), { rois: [], detect: true, camera: CAMERA }, 'nobody tracked: the full detector');
    s.observe(CAMERA, RUN, 0, result([roi(300, 250)], [0.99], true));
    const [first] = s.hint(CAMERA, RUN, 200).rois;
    assert.equal(first!.cx, 300, 'one observation: no velocity yet');
    // the person moved 20 px to the left in 200 ms
    s.observe(CAMERA, RUN, 200, result([roi(280, 250, first!.track)], [0.99], false));
    const next = s.hint(CAMERA, RUN, 400);
    assert.equal(next.rois.length, 1);
    assert.ok(Math.abs(next.rois[0]!.cx - 260) < 1e-6, `predicted at x 260, got ${next.rois[0]!.cx}`);
    assert.equal(next.rois[0]!.track, first!.track, 'the ROI keeps its track id');
    // a prediction far in the future moves the ROI at most half its side
    assert.ok(Math.abs(s.hint(CAMERA, RUN, 60_000).rois[0]!.cx - 220) < 1e-6);
  });

  test('a false-positive track whose presence falls is dropped, while a real person is carried', () => {
    const s = createDetectionSchedule(options());
    // the tiled detector's false positive on the grass: presence 0.81 when found, then 0.59 on its own ROI
    s.observe(CAMERA, RUN, 0, result([roi(110, 510), roi(300, 250)], [0.81, 0.99], true));
    const [grass, person] = s.hint(CAMERA, RUN, 200).rois;
    s.observe(CAMERA, RUN, 200, result([{ ...roi(110, 512), track: grass!.track }, { ...roi(298, 250), track: person!.track }], [0.59, 0.98], false));
    const hint = s.hint(CAMERA, RUN, 400);
    assert.deepEqual(hint.rois.map((r) => r.track), [person!.track], 'only the person is carried');
    assert.equal(hint.search, undefined, 'a dropped false positive is not searched for');
    assert.equal(s.counts().dropped, 1);
    for (let at = 400; at < 2000; at += 200) {
      const rois = s.hint(CAMERA, RUN, at).rois;
      s.observe(CAMERA, RUN, at, result(rois.map((r) => ({ ...r })), [0.97], false));
    }
    assert.equal(s.hint(CAMERA, RUN, 2000).rois.length, 1, 'the real person is still tracked');
  });

  test('a person lost after a few frames is searched for once, around the predicted position', () => {
    const s = createDetectionSchedule(options());
    s.observe(CAMERA, RUN, 0, result([roi(300, 250), roi(600, 250)], [0.99, 0.99], true));
    for (let at = 200; at <= 600; at += 200) {
      const rois = s.hint(CAMERA, RUN, at).rois;
      // the walker moves 20 px left per 200 ms
      s.observe(CAMERA, RUN, at, result([roi(300 - at / 10, 250, rois[0]!.track), rois[1]!], [0.99, 0.99], false));
    }
    const [walker, stays] = s.hint(CAMERA, RUN, 800).rois;
    s.observe(CAMERA, RUN, 800, result([stays!], [0.99], false));
    const hint = s.hint(CAMERA, RUN, 1000);
    assert.equal(hint.detect, false, 'no full detector run for one lost person');
    assert.equal(hint.search?.length, 1);
    assert.ok(Math.abs(hint.search![0]!.cx - 220) < 1e-6, `searched at the predicted x 220, got ${hint.search![0]!.cx} (last seen ${walker!.cx})`);
    s.observe(CAMERA, RUN, 1000, result([stays!], [0.99], false));
    assert.equal(s.hint(CAMERA, RUN, 1200).search, undefined, 'searched once');
    assert.equal(s.counts().lost, 1);
  });

  test('the full detector runs every detectEvery frames and detectInterval; the edge sweep steps in between', () => {
    const s = createDetectionSchedule(options({ detectEvery: 4, detectIntervalMs: 10_000, sweepEvery: 1 }));
    const seen: string[] = [];
    let rois: Roi[] = [];
    for (let k = 0; k < 9; k++) {
      const h = s.hint(CAMERA, RUN, k * 100);
      seen.push(h.detect ? 'D' : `s${h.sweep}`);
      rois = h.detect && h.rois.length === 0 ? [roi(300, 250)] : h.rois;
      s.observe(CAMERA, RUN, k * 100, result(rois, [0.99], h.detect));
    }
    assert.deepEqual(seen, ['D', 's0', 's1', 's2', 'D', 's3', 's4', 's5', 'D']);
    const late = createDetectionSchedule(options({ detectEvery: 100, detectIntervalMs: 1000 }));
    late.observe(CAMERA, RUN, 0, result([roi(300, 250)], [0.99], true));
    assert.equal(late.hint(CAMERA, RUN, 500).detect, false);
    assert.equal(late.hint(CAMERA, RUN, 1000).detect, true, 'detectInterval of capture time passed');
    assert.equal(late.hint(CAMERA, 'run-2', 1100).detect, true, 'a new agent run starts over');
  });

  test('a result older than the newest one seen (two workers) does not change the tracks', () => {
    const s = createDetectionSchedule(options());
    s.observe(CAMERA, RUN, 400, result([roi(300, 250)], [0.99], true));
    s.observe(CAMERA, RUN, 200, result([], [], false));
    assert.equal(s.hint(CAMERA, RUN, 600).rois.length, 1);
  });

  test('border tiles of a 768x576 frame are 10 of its 12 tiles; a search square stays inside the frame', () => {
    const tiles = tileRegions({ width: 768, height: 576 }, DEFAULT_DETECTOR_OPTIONS);
    const border = borderTiles(tiles, 768, 576);
    assert.equal(tiles.length, 12);
    assert.equal(border.length, 10);
    assert.deepEqual(searchRegion({ cx: 750, cy: 20, side: 100, rotation: 0 }, 768, 576, 256), { x: 512, y: 0, side: 256, maxBodyDiameter: Infinity });
  });

  test('sweep motion: a walker entering at the right edge moves its tile; a tracked person\'s own motion does not count', () => {
    const frame = (people: [number, number][]) => {
      const rgb = Buffer.alloc(768 * 576 * 3, 90);
      for (const [px, py] of people) for (let y = py; y < py + 100; y++) rgb.fill(200, (y * 768 + px) * 3, (y * 768 + px + 40) * 3);
      return { width: 768, height: 576, rgb };
    };
    const tiles = tileRegions({ width: 768, height: 576 }, DEFAULT_DETECTOR_OPTIONS);
    // a tracked person walks left in the middle; another walks in at the right edge
    const prev = lumaGrid(frame([[400, 200], [740, 300]]));
    const now = lumaGrid(frame([[380, 200], [720, 300]]));
    const tracked = [{ cx: 400, cy: 250, side: 125, rotation: 0 }];
    const moved = unexplainedMotion(prev, now, tiles, tracked).map((m) => m.cells);
    const best = moved.indexOf(Math.max(...moved));
    assert.ok(tiles[best]!.x + tiles[best]!.side === 768 && tiles[best]!.y <= 300 && tiles[best]!.y + 256 >= 400, `tile with most motion: ${JSON.stringify(tiles[best])} (${moved})`);
    const centre = tiles.findIndex((q) => q.x <= 380 && q.x + q.side >= 440 && q.y <= 200 && q.y + q.side >= 300);
    assert.equal(moved[centre], 0, 'the tracked person explains the motion in the centre');
    const entering = unexplainedMotion(prev, now, tiles, tracked)[best]!;
    assert.ok(entering.x > 720 && entering.x < 768 && entering.y > 300 && entering.y < 400, `motion centred on the walker: ${JSON.stringify(entering)}`);
    assert.deepEqual(unexplainedMotion(now, now, tiles, []).map((m) => m.cells), tiles.map(() => 0), 'no change, no motion');
  });
});

/** 10 fps frames of vtest.mp4 from its start, as JPEGs. */
function vtestFrames(count: number): Buffer[] {
  const video = fileURLToPath(new URL('../../../agent/test/fixtures/vtest.mp4', import.meta.url));
  const ff = spawnSync('ffmpeg', ['-v', 'error', '-i', video, '-frames:v', String(count), '-q:v', '4', '-f', 'image2pipe', '-c:v', 'mjpeg', '-'], { maxBuffer: 1 << 28 });
  if (ff.status !== 0) throw new Error(`ffmpeg failed: ${ff.stderr}`);
  const jpegs: Buffer[] = [];
  for (let at = 0; at < ff.stdout.length;) {
    const end = ff.stdout.indexOf(Buffer.from([0xff, 0xd9]), at) + 2;
    jpegs.push(ff.stdout.subarray(at, end));
    at = end;
  }
  return jpegs;
}

describe('tracking on real vtest.mp4 frames', () => {
  // 5 fps inferred of a 10 fps camera for 6 s: two people walk in at the right edge meanwhile
  const FRAMES = 60;
  const STRIDE = 2;
  // Hand-checked: empty grass at the bottom left, where the tiled detector finds a flat "person" on some frames.
  const GRASS: Box = [40, 470, 150, 80];
  const onGrass = (b: Box) => iou(b, GRASS) > 0 && b[1] > GRASS[1];
  let model: PoseModel | undefined;
  let jpegs: Buffer[] = [];
  after(() => model?.close());

  async function play(o: DetectionScheduleOptions): Promise<{ boxes: Box[][]; detected: number; cpuMs: number }> {
    if (jpegs.length === 0) jpegs = vtestFrames(FRAMES);
    model ??= await createPoseModel({ kind: 'blazepose', variant: 'full', detector: { mode: 'tiled' }, threads: 1 }, createLogger({ level: 'warn' }));
    const s = createDetectionSchedule(o);
    const boxes: Box[][] = [];
    let detected = 0;
    const c0 = process.cpuUsage();
    for (let seq = 0; seq < jpegs.length; seq += STRIDE) {
      const hint = s.hint(CAMERA, RUN, seq * 100);
      const [r] = await model.infer([await decodeJpeg(jpegs[seq]!)], [hint]);
      s.observe(CAMERA, RUN, seq * 100, r!);
      boxes.push(r!.persons.map((p) => p.box));
      if (hint.detect) detected++;
    }
    const c = process.cpuUsage(c0);
    return { boxes, detected, cpuMs: (c.user + c.system) / 1000 };
  }

  test('tracking finds as many people on the same frames as the detector on every frame, carries no false positive, runs the full detector rarely', async (t) => {
    const every = await play(options({ detectEvery: 1 }));
    const tracked = await play(options());
    const people = (r: { boxes: Box[][] }) => r.boxes.map((b) => b.filter((p) => !onGrass(p)));
    const count = (frames: Box[][]) => frames.reduce((n, b) => n + b.length, 0);
    const grass = (r: { boxes: Box[][] }) => r.boxes.map((b) => (b.some(onGrass) ? 'G' : '.')).join('');
    // the detector's people that tracking also found on that frame (box IoU > 0.3)
    const found = people(every).reduce((n, b, k) => n + b.filter((p) => people(tracked)[k]!.some((q) => iou(p, q) > 0.3)).length, 0);
    t.diagnostic(`${every.boxes.length} frames: detector on every frame ${count(people(every))} people (${(every.cpuMs / every.boxes.length).toFixed(0)} CPU ms/frame); ` +
      `tracking ${count(people(tracked))} people, ${found} of the detector's among them (${(tracked.cpuMs / tracked.boxes.length).toFixed(0)} CPU ms/frame, full detector on ${tracked.detected} frames); ` +
      `CPU time ratio ${(every.cpuMs / tracked.cpuMs).toFixed(2)}x`);
    t.diagnostic(`false positive on the grass per frame: detector on every frame ${grass(every)}, tracking ${grass(tracked)}`);
    assert.ok(count(people(tracked)) >= count(people(every)), `tracking found ${count(people(tracked))} people, the detector on every frame ${count(people(every))}`);
    assert.ok(found >= 0.9 * count(people(every)), `tracking missed ${count(people(every)) - found} of the ${count(people(every))} people the detector found on the same frames`);
    assert.ok(!/GG/.test(grass(tracked)), `the grass false positive was carried from frame to frame: ${grass(tracked)}`);
    assert.ok(tracked.detected <= every.detected / 4, `full detector on ${tracked.detected} of ${every.detected} frames`);
  });
});
