// The scheduler's policy through its seams, in milliseconds and without a
// broker: a clock the test moves (`now`) and a batch runner the test
// finishes or fails by hand (`pool`, what the worker pool implements). The
// broker tests (scheduler-lag, ingest, health) check the same rules end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOffsetTracker } from '../src/ingest/offsets.js';
import type { Job, Source } from '../src/ingest/handoff.js';
import { createScheduler, type BatchRunner, type Dispatched, type ReleaseReason, type Scheduler, type SkipReason } from '../src/scheduler/scheduler.js';
import { solidJpeg } from '@frameline/shared/testing';

const MAX_LAG_MS = 1000;
const jpeg = await solidJpeg(16, 12, '#345');
const tracker = createOffsetTracker();
let offset = 0;

/** A runner with `workers` slots whose batches finish or fail when the test says so. */
function manualRunner(workers: number, batchable: boolean) {
  const idle: (() => void)[] = [];
  const running: { size: number; resolve(out: string): void; reject(err: Error): void }[] = [];
  let ready = workers;
  const runner: BatchRunner<string> = {
    batchable: () => batchable,
    idleCount: () => ready - running.length,
    workers: () => workers,
    run: (jpegs) => new Promise((resolve, reject) => running.push({ size: jpegs.length, resolve, reject })),
    onIdle: (l) => void idle.push(l),
  };
  return {
    runner,
    running,
    /** The oldest batch completes; its worker is idle again (the pool resolves, then notifies). */
    finish(out = 'ok') {
      running.shift()!.resolve(out);
      idle.forEach((l) => l());
    },
    /** The oldest batch's worker was terminated as wedged: the batch fails and the worker is gone until replaced. */
    wedge() {
      ready--;
      running.shift()!.reject(new Error('inference worker 0 exited (code 1) during a batch'));
    },
    /** The replacement worker is ready. */
    replace() {
      ready++;
      idle.forEach((l) => l());
    },
  };
}

function harness(workers: number, batchable: boolean, maxBatch = 4) {
  let t = 1_000_000;
  const r = manualRunner(workers, batchable);
  const skipped: { id: string; reason: SkipReason }[] = [];
  const released: { id: string; reason: ReleaseReason }[] = [];
  const batches: Dispatched[][] = [];
  const outputs: (string | Error)[] = [];
  let backfillRoom = 0;
  const scheduler: Scheduler = createScheduler({
    maxLagMs: MAX_LAG_MS,
    maxBatch,
    backfillQueue: 2,
    pool: r.runner,
    onSkip: (job, reason) => skipped.push({ id: idOf(job), reason }),
    onRelease: (job, reason) => released.push({ id: idOf(job), reason }),
    onDispatch: (batch) => batches.push(batch),
    onBatch: (_batch, out) => void outputs.push(out),
    onBackfillRoom: () => void backfillRoom++,
    now: () => t,
  });
  return {
    ...r,
    scheduler,
    skipped,
    released,
    batches,
    outputs,
    backfillRooms: () => backfillRoom,
    now: () => t,
    advance: (ms: number) => void (t += ms),
    /** A frame of `camera` captured `ageMs` before now. */
    job(camera: string, seq: number, ageMs = 0, source: Source = 'live', clockCorrectionMs = 0): Job {
      return {
        frame: { camera, run: 'run-1', seq, capturedAt: t - ageMs, width: 16, height: 12, jpeg },
        source,
        ticket: tracker.track('video.frames', 0, String(offset++)),
        ingestedAt: t,
        clockCorrectionMs,
        origin: { key: Buffer.from(camera), headers: {}, timestamp: String(t - ageMs) },
      };
    },
  };
}

const idOf = (job: Job) => `${job.frame.camera}/${job.frame.seq}`;
const ids = (batch: Dispatched[] | undefined) => (batch ?? []).map((d) => idOf(d.job));
/** Lets the runner's settled promises reach the scheduler (its completion handlers are promise callbacks). */
const settle = () => new Promise((r) => setImmediate(r));

test('latest wins: while the worker is busy a camera keeps only its newest frame; the others are skipped as superseded and counted in skippedSince', async (t) => {
  const h = harness(1, true);
  t.after(() => h.scheduler.drain(0));
  h.scheduler.offerLive(h.job('B', 0));
  assert.deepEqual(ids(h.batches[0]), ['B/0'], 'an idle worker takes a frame at once');
  for (let seq = 0; seq < 3; seq++) h.scheduler.offerLive(h.job('A', seq));
  assert.deepEqual(h.skipped, [{ id: 'A/0', reason: 'superseded' }, { id: 'A/1', reason: 'superseded' }]);
  assert.equal(h.scheduler.stats().pendingLive, 1, 'one frame waits per camera, however many arrive');
  h.finish();
  await settle();
  assert.deepEqual(ids(h.batches[1]), ['A/2']);
  assert.equal(h.batches[1]![0]!.skippedSince, 2);
  assert.deepEqual(h.outputs, ['ok']);
});

test('maxLagMs: a frame older than maxLagMs is skipped as too-old, on arrival or while it waits, never inferred; a camera clock correction counts', async (t) => {
  const h = harness(1, true);
  t.after(() => h.scheduler.drain(0));
  h.scheduler.offerLive(h.job('A', 0, MAX_LAG_MS + 500));
  assert.deepEqual(h.skipped, [{ id: 'A/0', reason: 'too-old' }], 'too old on arrival');
  assert.equal(h.batches.length, 0);

  h.scheduler.offerLive(h.job('B', 0));
  h.scheduler.offerLive(h.job('A', 1));
  h.advance(MAX_LAG_MS + 200);
  h.finish();
  await settle();
  assert.deepEqual(h.skipped.map((s) => `${s.id} ${s.reason}`), ['A/0 too-old', 'A/1 too-old'], 'waited past maxLagMs behind a busy worker');
  assert.equal(h.batches.length, 1, 'nothing too old was dispatched');

  // 1.5 s behind by its own clock, but ingest measured that offset: its age is what counts.
  h.scheduler.offerLive(h.job('C', 0, 1500, 'live', 1500));
  assert.deepEqual(ids(h.batches[1]), ['C/0']);
  assert.ok(h.batches[1]![0]!.ageMs < MAX_LAG_MS, `age ${h.batches[1]![0]!.ageMs} ms`);
});

test('cross-camera batching: waiting cameras share one run up to maxBatch, longest-waiting first; a camera never has two frames in flight', async (t) => {
  const h = harness(1, true, 3);
  t.after(() => h.scheduler.drain(0));
  h.scheduler.offerLive(h.job('B', 0));
  for (const camera of ['C', 'D', 'E', 'F']) {
    h.advance(10);
    h.scheduler.offerLive(h.job(camera, 0));
  }
  h.advance(10);
  h.scheduler.offerLive(h.job('B', 1));
  h.finish();
  await settle();
  assert.deepEqual(ids(h.batches[1]), ['C/0', 'D/0', 'E/0'], 'one run for three cameras, in waiting order');
  assert.equal(h.running[0]!.size, 3);
  h.finish();
  await settle();
  assert.deepEqual(ids(h.batches[2]), ['F/0', 'B/1']);
  assert.deepEqual(h.skipped, []);

  const single = harness(2, false, 3);
  t.after(() => single.scheduler.drain(0));
  for (const camera of ['A', 'B', 'C']) single.scheduler.offerLive(single.job(camera, 0));
  single.scheduler.offerLive(single.job('A', 1));
  assert.deepEqual(single.batches.map(ids), [['A/0'], ['B/0']], 'a model that does not batch gets one frame per run, one run per idle worker');
  single.finish();
  await settle();
  assert.deepEqual(single.batches.map(ids).slice(2), [['C/0']], 'the freed worker takes the camera that waited');
  single.finish();
  await settle();
  assert.deepEqual(single.batches.map(ids).slice(3), [['A/1']]);
});

test('live cameras are spread over the workers: after a worker restart, 3 waiting cameras on 2 workers still go one per batch, in turn, so each camera is inferred as often', async (t) => {
  const h = harness(2, true, 4);
  t.after(() => h.scheduler.drain(0));
  const seq = new Map<string, number>();
  /** `camera` offers its next frame 10 ms after the previous offer, as a 10 fps camera does while the workers are busy. */
  const offer = (...cameras: string[]) => {
    for (const camera of cameras) {
      h.advance(10);
      seq.set(camera, (seq.get(camera) ?? -1) + 1);
      h.scheduler.offerLive(h.job(camera, seq.get(camera)!));
    }
  };
  offer('A', 'B', 'C');
  assert.deepEqual(h.batches.map(ids), [['A/0'], ['B/0']], 'both workers busy at once, one camera each');
  // A's worker dies; while its replacement starts, A and C both wait
  h.wedge();
  await settle();
  offer('A');
  h.replace();
  assert.deepEqual(ids(h.batches[2]), ['C/0'], 'one camera per batch: a batch of C and A would leave B alone on the other worker, inferred twice as often');
  for (let round = 0; round < 12; round++) {
    offer('A', 'B', 'C');
    h.finish();
    await settle();
  }
  const inferred = new Map<string, number>();
  for (const batch of h.batches.slice(2)) {
    assert.equal(batch.length, 1, `batch ${ids(batch).join(',')}`);
    const camera = batch[0]!.job.frame.camera;
    inferred.set(camera, (inferred.get(camera) ?? 0) + 1);
  }
  const counts = [...inferred.values()];
  assert.equal(inferred.size, 3);
  assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `frames inferred per camera ${JSON.stringify(Object.fromEntries(inferred))}`);

  // 8 cameras waiting for 2 workers: each batch takes its share, 4
  const many = harness(2, true, 4);
  t.after(() => many.scheduler.drain(0));
  many.scheduler.offerLive(many.job('A', 0));
  many.scheduler.offerLive(many.job('B', 0));
  for (const camera of 'CDEFGH') {
    many.advance(10);
    many.scheduler.offerLive(many.job(camera, 0));
  }
  many.finish();
  await settle();
  assert.deepEqual(ids(many.batches[2]), ['C/0', 'D/0', 'E/0', 'F/0']);
});

test('a wedged worker: its batch fails as an Error, the camera is free again, and the replacement worker gets the newest frame', async (t) => {
  const h = harness(1, false);
  t.after(() => h.scheduler.drain(0));
  h.scheduler.offerLive(h.job('A', 0));
  h.wedge();
  await settle();
  assert.equal(h.outputs.length, 1);
  assert.match(String(h.outputs[0]), /exited .* during a batch/);
  assert.equal(h.scheduler.stats().inFlightBatches, 0);
  h.scheduler.offerLive(h.job('A', 1));
  h.scheduler.offerLive(h.job('A', 2));
  assert.equal(h.batches.length, 1, 'no worker until the replacement is ready');
  h.replace();
  assert.deepEqual(ids(h.batches[1]), ['A/2']);
  assert.equal(h.batches[1]![0]!.skippedSince, 1);
  assert.deepEqual(h.skipped, [{ id: 'A/1', reason: 'superseded' }]);
});

test('backfill gets only the capacity live frames leave, in order, and says when its queue has room again', async (t) => {
  const h = harness(1, true, 2);
  t.after(() => h.scheduler.drain(0));
  h.scheduler.offerLive(h.job('A', 0));
  for (let seq = 0; seq < 2; seq++) h.scheduler.offerBackfill(h.job('S', seq, 3_600_000, 'backfill'));
  assert.equal(h.scheduler.backfillRoom(), 0);
  h.scheduler.offerLive(h.job('B', 0));
  h.finish();
  await settle();
  assert.deepEqual(ids(h.batches[1]), ['B/0'], 'live first');
  h.finish();
  await settle();
  assert.deepEqual(ids(h.batches[2]), ['S/0', 'S/1'], 'then backfill, however old');
  assert.equal(h.backfillRooms(), 1);
  assert.deepEqual(h.skipped, []);
});

test('frames let go at a rebalance or a stop are released (counted, offsets left uncommitted), never silently forgotten', async () => {
  const h = harness(1, false);
  h.scheduler.offerLive(h.job('A', 0));
  h.scheduler.offerLive(h.job('A', 1));
  h.scheduler.offerLive(h.job('B', 0));
  h.scheduler.offerBackfill(h.job('C', 0, 0, 'backfill'));
  assert.deepEqual(ids(h.batches[0]), ['A/0'], 'A/0 in flight');
  h.scheduler.reset();
  assert.deepEqual(h.released, [{ id: 'A/1', reason: 'rebalance' }, { id: 'B/0', reason: 'rebalance' }, { id: 'C/0', reason: 'rebalance' }]);
  h.scheduler.offerLive(h.job('A', 2));
  const draining = h.scheduler.drain(1000);
  h.scheduler.offerLive(h.job('A', 3));
  h.finish();
  await draining;
  assert.deepEqual(h.released.slice(3), [{ id: 'A/2', reason: 'stop' }, { id: 'A/3', reason: 'stop' }], 'waiting at the stop, or offered after it');
  assert.deepEqual(h.skipped, [], 'none of them counts as skipped by the lag policy');
  assert.deepEqual(h.outputs, ['ok'], 'the batch in flight still finishes');
});
