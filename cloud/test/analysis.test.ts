/**
 * Tracker, detectors and hysteresis on keypoint sequences, without a broker.
 * Negative cases run on real tracks: the real pose pipeline's output over
 * 16 s of vtest.mp4, where people only walk (precomputed, see
 * cloud/scripts/vtest-keypoints.mjs). Positive falls and fights are GENERATED
 * from a real standing pose out of that output (rotated, moved, limbs
 * swung), since no footage here shows either.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAnalysis, type AnalysisOptions, type RaisedEvent } from '../src/analysis/analysis.js';
import { createDebouncer } from '../src/analysis/debounce.js';
import { createTracker } from '../src/analysis/tracker.js';
import { analysisOptions, toAlert } from '../src/analysis/stage.js';
import { loadCloudConfig } from '../src/config.js';
import type { Person } from '../src/inference/index.js';
import type { InferenceRecord } from '../src/publish/record.js';
import { at, feetOf, FRAME, jitter, person, realStandingPose, record, transform, vtestRecords } from './analysis-support.js';

/** The shipped defaults, plus `over` (config keys as a user writes them). */
function options(over: Record<string, unknown> = {}): AnalysisOptions {
  return analysisOptions(loadCloudConfig({ env: {}, overrides: { kafka: { security: 'plaintext' }, analysis: over } }).analysis);
}

async function run(records: InferenceRecord[], o = options()): Promise<RaisedEvent[]> {
  const analysis = await createAnalysis(o);
  const events: RaisedEvent[] = [];
  for (const r of records) events.push(...(await analysis.process(r)));
  await analysis.close();
  return events;
}

const FPS = 5;

test('tracker: real walking people on vtest keep their track ids from frame to frame', () => {
  const records = vtestRecords();
  const tracker = createTracker(options().tracker);
  let continued = 0;
  let persons = 0;
  const seen = new Set<string>();
  const lifetimes = new Map<string, number>();
  for (const r of records) {
    const before = new Set(tracker.tracks().map((t) => t.id));
    const ids = tracker.update(r);
    assert.equal(new Set(ids).size, ids.length, `frame ${r.seq}: two persons got one track`);
    for (const id of ids) {
      persons++;
      if (before.has(id)) continued++;
      seen.add(id);
      lifetimes.set(id, (lifetimes.get(id) ?? 0) + 1);
    }
  }
  const long = [...lifetimes.values()].filter((n) => n >= 20).length;
  console.log(`vtest: ${records.length} frames at ${FPS} fps, ${persons} person detections, ${seen.size} tracks, ${long} tracks of >= 20 frames, ${(100 * continued / persons).toFixed(1)} % of detections continue a track`);
  assert.ok(continued / persons >= 0.9, `only ${continued}/${persons} detections continued a track`);
  // about six people are in view throughout these 16 s
  assert.ok(long >= 4, `only ${long} tracks lasted 4 s`);
  assert.ok(seen.size <= 25, `${seen.size} tracks for about 6-9 people: ids are not stable`);
});

test('tracker: two people crossing keep their own ids (matching by keypoints and motion)', () => {
  const base = realStandingPose();
  const f = feetOf(base);
  const tracker = createTracker(options().tracker);
  let first: string[] = [];
  for (let i = 0; i <= 10; i++) {
    // A walks right, B walks left, 6 px per frame, passing each other at i = 5 with 10 px vertical offset
    const a = transform(base, 0, f, -30 + 6 * i, 0);
    const b = transform(base, 0, f, 30 - 6 * i, 10);
    const ids = tracker.update({ seq: i, capturedAt: at(i, FPS), persons: i % 2 ? [a, b] : [b, a] });
    const byPerson = i % 2 ? ids : [ids[1]!, ids[0]!];
    if (i === 0) first = byPerson;
    else assert.deepEqual(byPerson, first, `frame ${i}`);
  }
});

test('vtest walking: no fall and no fight on real tracks', async () => {
  const events = await run(vtestRecords());
  assert.deepEqual(events.map((e) => `${e.detection.kind} ${e.detection.tracks}`), []);
});

test('zone: real walking people whose feet stay in a zone raise one alert per person; a zone nobody enters raises none', async () => {
  const records = vtestRecords();
  const whole = [[0, 0], [1, 0], [1, 1], [0, 1]];
  const events = await run(records, options({ fall: { enabled: false }, fight: { enabled: false }, zones: [
    { camera: 'CAMERA-1', name: 'everywhere', polygon: whole, dwell: '3s' },
    { camera: 'CAMERA-1', name: 'sky', polygon: [[0, 0], [1, 0], [1, 0.02], [0, 0.02]], dwell: '1s' },
    { camera: 'CAMERA-2', name: 'other camera', polygon: whole, dwell: '1s' },
  ] }));
  const tracks = events.map((e) => e.detection.tracks[0]!);
  console.log(`zone "everywhere" (dwell 3 s) on vtest: ${events.length} alerts for tracks ${tracks.join(', ')}`);
  assert.ok(events.length >= 4, 'people in view for over 3 s raise zone alerts');
  assert.equal(new Set(tracks).size, tracks.length, 'one alert per person and stay, not one per frame');
  assert.ok(events.every((e) => e.detection.label === 'everywhere' && e.frame.capturedAt - e.detection.startedAt >= 3000));
  assert.ok(events.every((e) => e.seqs[0] === e.detection.startSeq && e.seqs.at(-1) === e.frame.seq));
});

/** A generated fall: the real standing pose stands 2 s, falls over 0.6 s (rotates 90° about its feet), then `after`. */
function fallSequence(after: 'lie still' | 'get up' | 'crouch'): InferenceRecord[] {
  const base = realStandingPose();
  const f = feetOf(base);
  const out: InferenceRecord[] = [];
  let seq = 0;
  const push = (p: Person) => { out.push(record(seq, at(seq, FPS), [jitter(p, seq)])); seq++; };
  for (let i = 0; i < 10; i++) push(base);
  if (after === 'crouch') {
    // hips go down but the torso stays upright: squatting to pick something up
    const hipY = base.keypoints.find((k) => k.name === 'left_hip')!.y;
    const squat = person(base.keypoints.map((k) => (k.y <= hipY + 1 ? { ...k, y: k.y + (f.y - hipY) * 0.6 } : k)));
    for (let i = 0; i < 20; i++) push(squat);
    return out;
  }
  for (const deg of [45, 70, 90]) push(transform(base, deg, f));
  const lying = transform(base, 90, f);
  if (after === 'get up') {
    push(lying);
    for (const deg of [70, 45, 0]) push(transform(base, deg, f));
    for (let i = 0; i < 20; i++) push(base);
    return out;
  }
  for (let i = 0; i < 20; i++) push(lying);
  return out;
}

test('fall: a fast drop to lying, then lying still, raises exactly one fall alert', async () => {
  const events = await run(fallSequence('lie still'));
  assert.deepEqual(events.map((e) => e.detection.kind), ['fall']);
  const e = events[0]!;
  assert.equal(e.detection.startSeq, 10, 'the event starts with the first falling frame');
  assert.ok(e.frame.capturedAt - at(12, FPS) >= 2000, 'raised only after lying still for analysis.fall.still');
  console.log(`fall raised at seq ${e.frame.seq}, score ${e.detection.score.toFixed(2)}`);
});

test('fall: getting up at once, or crouching with the torso upright, raises nothing', async () => {
  assert.deepEqual(await run(fallSequence('get up')), []);
  assert.deepEqual(await run(fallSequence('crouch')), []);
});

/** Two real standing poses facing each other 1.5 torso lengths apart; `punch`: wrists thrust toward the other every other frame. */
function pairSequence(punch: boolean, frames = 20): InferenceRecord[] {
  const base = realStandingPose();
  const f = feetOf(base);
  const torso = base.keypoints.find((k) => k.name === 'left_hip')!.y - base.keypoints.find((k) => k.name === 'left_shoulder')!.y;
  const gap = 1.5 * torso;
  const out: InferenceRecord[] = [];
  for (let seq = 0; seq < frames; seq++) {
    const thrust = punch && seq % 2 === 1 ? 1.2 * torso : 0;
    const limbs = (p: Person, dir: number) => person(p.keypoints.map((k) => (/wrist|index|pinky|thumb/.test(k.name) ? { ...k, x: k.x + dir * thrust } : k)));
    const a = limbs(transform(base, 0, f, -gap / 2), 1);
    const b = limbs(transform(base, 0, f, gap / 2), -1);
    out.push(record(seq, at(seq, FPS), [jitter(a, seq), jitter(b, seq + 100)]));
  }
  return out;
}

test('fight: two people close together with sustained fast arm motion toward each other raise one fight alert', async () => {
  const events = await run(pairSequence(true));
  assert.deepEqual(events.map((e) => e.detection.kind), ['fight']);
  assert.equal(events[0]!.detection.tracks.length, 2);
  assert.ok(events[0]!.detection.score < 1, 'a heuristic never claims certainty');
});

test('fight: the same two people standing close without fast limb motion raise nothing', async () => {
  assert.deepEqual(await run(pairSequence(false)), []);
});

test('hysteresis: flickering detections make one event; a pause longer than hold (and 2 frames) makes a second', () => {
  const d = createDebouncer({ open: 0.5, keep: 0.3, holdMs: 1000 });
  const frame = (seq: number) => ({ camera: 'c', run: 'r', seq, capturedAt: seq * 200, width: 10, height: 10 });
  const det = (score: number) => ({ kind: 'zone', label: 'z', tracks: ['1-0'], score, startSeq: 0, startedAt: 0 });
  const opened: number[] = [];
  // on, off, weak (keeps), on, off x3 (600 ms < hold), on: one event
  const scores = [0.9, 0, 0.35, 0.9, 0, 0, 0, 0.9, 0, 0, 0, 0, 0, 0, 0.9];
  scores.forEach((s, seq) => { if (d.update(s > 0 ? [det(s)] : [], frame(seq)).length > 0) opened.push(seq); });
  assert.deepEqual(opened, [0, 14], 'the second event opens only after more than hold (1 s) without detections');
  assert.equal(d.update([det(0.4)], frame(100)).length, 0, 'a weak score (keep <= s < open) does not open an event');
});

test('alert keys: the same frames give the same keys; a restarted analysis that replays the recent results raises the open event again under its original key', async () => {
  const zones = [{ camera: 'CAMERA-1', name: 'everywhere', polygon: [[0, 0], [1, 0], [1, 1], [0, 1]], dwell: '3s' }];
  const o = options({ fight: { enabled: false }, zones });
  const records = vtestRecords();
  const once = (await run(records, o)).map((e) => toAlert(e, 0).key);
  const twice = (await run(vtestRecords(), o)).map((e) => toAlert(e, 0).key);
  assert.deepEqual(twice, once);

  // instance 1 handles frames 0..49 and dies; instance 2 replays the last 10 s of results, then goes on from frame 50
  const first = await createAnalysis(o);
  const published = new Set<string>();
  for (const r of records.slice(0, 50)) for (const e of await first.process(structuredClone(r))) published.add(toAlert(e, 0).key);
  const second = await createAnalysis(o);
  const replayFrom = records[49]!.capturedAt - 10_000;
  const remembered = new Set(published);
  for (const r of records.slice(0, 50).filter((x) => x.capturedAt >= replayFrom)) for (const e of await second.process(structuredClone(r))) remembered.add(toAlert(e, 0).key);
  for (const r of records.slice(50)) for (const e of await second.process(structuredClone(r))) {
    const key = toAlert(e, 0).key;
    assert.ok(!remembered.has(key), 'a live event is new');
    published.add(key);
  }
  const tracksOf = (keys: Set<string>) => keys.size;
  console.log(`zone alerts: ${once.length} in one pass, ${tracksOf(published)} across the restart`);
  assert.equal(published.size, once.length, 'a restart mid-event neither loses nor repeats an alert');
});

test('config: a bad zone or inconsistent thresholds name the key', () => {
  const load = (analysis: Record<string, unknown>) => () => loadCloudConfig({ env: {}, overrides: { kafka: { security: 'plaintext' }, analysis } });
  assert.throws(load({ zones: [{ camera: 'CAMERA-1', name: 'door', polygon: [[0, 0], [2, 0], [1, 1]], dwell: '1s' }] }), /analysis\.zones\[0\]\.polygon/);
  assert.throws(load({ zones: [{ camera: 'CAMERA-1', name: 'door', polygon: [[0, 0], [1, 0], [1, 1]], dwell: 'soon' }] }), /analysis\.zones\[0\]\.dwell/);
  assert.throws(load({ zones: [{ camera: 'CAMERA-1', name: 'door', polygon: [[0, 0], [1, 0], [1, 1]], dwel: '1s' }] }), /analysis\.zones\[0\]\.dwel: unknown key/);
  assert.throws(load({ hysteresis: { open: 0.3, keep: 0.5 } }), /analysis\.hysteresis\.keep/);
  assert.doesNotThrow(load({ zones: [{ camera: 'CAMERA-1', name: 'door', polygon: [[0, 0], [1, 0], [1, 1]], dwell: '1s' }] }));
});
