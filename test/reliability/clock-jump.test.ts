// Issue 11, suite item 6: the Pi's clock jumps while a real agent streams to
// a real frameline-cloud process. The agent runs under libfaketime (Debian's
// faketime package) reading its offset from a file, so its wall clock steps
// as under NTP while timers (the monotonic clock) run on: first 60 s ahead,
// then back to the right time, so capture times go backwards by 60 s.
// Order must follow fl-seq on the topic and in the results, and the cloud's
// latency figures must flag the skew: no negative age, no frame skipped as
// "too old" because of the step, the step counted and logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, sharedBroker, waitFor } from '@frameline/shared/testing';
import { cloudConfigFile, startCloud } from '../security/cloud-process.js';
import { metricValue, startAgentProcess, writeAgentConfig } from '../support/agent-process.js';
import { seqFigures, type SeqRecord } from '../support/figures.js';

const CAMERA = 'CAMERA-1';
const STEP_S = 60;
/** Far above what a busy test machine adds, far below the step: only the step can make a frame too old. */
const MAX_LAG_MS = 20_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** libfaketime's multi-threaded preload library, wherever the architecture puts it (scripts/test.mjs installs faketime). */
function libfaketime(): string {
  for (const dir of ['/usr/lib', ...readdirSync('/usr/lib').map((d) => join('/usr/lib', d))]) {
    const lib = join(dir, 'faketime/libfaketimeMT.so.1');
    if (existsSync(lib)) return lib;
  }
  throw new Error('libfaketime is not installed: apt-get install faketime (npm test does)');
}

interface Result extends SeqRecord {
  capturedAt: number;
  clockAhead?: true;
  timings: Record<string, number>;
}

test('agent clock jumps 60 s ahead, then back: order follows fl-seq, ages are never negative or absurd, the step is flagged', { timeout: 4 * 60_000 }, async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('clock-jump', 3);
  const dir = await mkdtemp(join(tmpdir(), 'fl-clock-jump-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cloud = startCloud(['run', '--config', cloudConfigFile(broker, topics, { scheduler: { workers: 1, maxLagMs: `${MAX_LAG_MS}ms` }, ingest: { commitInterval: '500ms' } })]);
  t.after(() => cloud.stop());
  await cloud.waitForLine(/listening url=/, 240_000); // the inference worker starts slowly on a busy machine
  const cloudUrl = await cloud.baseUrl();
  const cloudMetrics = async () => (await fetch(`${cloudUrl}/metrics`)).text();

  const offsetFile = join(dir, 'faketime');
  await writeFile(offsetFile, '+0\n');
  const metricsPort = await freePort();
  const agent = startAgentProcess(writeAgentConfig(join(dir, 'agent.json'), broker, topics, { camera: CAMERA, stateDir: join(dir, 'state'), metricsPort }), {
    metricsPort,
    env: {
      LD_PRELOAD: libfaketime(),
      FAKETIME_TIMESTAMP_FILE: offsetFile,
      // Read the file again at most every second; the monotonic clock (timers) stays real.
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    },
  });
  t.after(() => agent.child.exitCode === null && agent.child.kill('SIGKILL'));
  const inferred = async () => metricValue(await cloudMetrics(), 'frameline_frames_inferred_total');
  const sent = () => agent.metric('frames_sent_total');
  const phase = async (what: string, offset: string, frames: number) => {
    await writeFile(offsetFile, `${offset}\n`);
    const [from, atStart] = [await sent(), await inferred()];
    await waitFor(`${what}: ${frames} more frames acknowledged and inferred`, async () => (await sent()) >= from + frames && (await inferred()) >= atStart + frames / 2, 90_000, 250)
      .catch((e: Error) => assert.fail(`${e.message}\nagent:\n${agent.lines.slice(-10).join('\n')}\ncloud:\n${cloud.lines.slice(-10).join('\n')}`));
  };
  await waitFor('the agent sending and the cloud inferring', async () => (await inferred()) >= 20, 90_000, 250)
    .catch((e: Error) => assert.fail(`${e.message}\nagent:\n${agent.lines.slice(-10).join('\n')}\ncloud:\n${cloud.lines.slice(-10).join('\n')}`));
  await phase(`clock ${STEP_S} s ahead`, `+${STEP_S}s`, 60);
  await phase('clock stepped back to the right time', '+0', 60);

  assert.equal(await agent.stop(), 0, `the agent exits 0 on SIGTERM\n${agent.log().slice(-2000)}`);
  const stopped = agent.stopped()!;
  await waitFor('the cloud group caught up', async () => metricValue(await cloudMetrics(), 'frameline_consumer_lag_records', `topic="${topics.frames}"`) === 0, 60_000, 500);
  const text = await cloudMetrics();
  const published = metricValue(text, 'frameline_frames_inferred_total');
  const figures = {
    tooOld: metricValue(text, 'frameline_frames_skipped_total', 'reason="too-old"'),
    superseded: metricValue(text, 'frameline_frames_skipped_total', 'reason="superseded"'),
    clockAhead: metricValue(text, 'frameline_frames_clock_ahead_total'),
    steps: metricValue(text, 'frameline_camera_clock_steps_total', `camera="${CAMERA}"`),
    offsetS: metricValue(text, 'frameline_camera_clock_offset_seconds', `camera="${CAMERA}"`),
    ageSum: metricValue(text, 'frameline_frame_age_at_inference_seconds_sum'),
  };
  assert.equal(await cloud.stop(), 0, 'the cloud service stops cleanly');

  const frameRecords = await broker.readRecords(topics.frames, { count: stopped.sent, timeoutMs: 30_000 });
  const all = frameRecords.map(({ message: m }) => ({ seq: Number(String(m.headers?.['fl-seq'])), capturedAt: Number(String(m.headers?.['fl-captured-at'])) }));
  const frames = seqFigures(all.map((c) => ({ camera: CAMERA, run: '', seq: c.seq })));
  // First appearances only: a resend repeats an earlier capture time without any clock step.
  const captured = all.filter((c, i) => all.findIndex((o) => o.seq === c.seq) === i);
  const backwards = captured.filter((c, i) => i > 0 && c.capturedAt < captured[i - 1]!.capturedAt);
  const results = (await broker.readRecords(topics.inferences, { count: published, timeoutMs: 30_000 })).map(({ message }) => JSON.parse(message.value!.toString()) as Result);
  const res = seqFigures(results);
  const ages = results.filter((r) => r.timings.ageMs !== undefined).map((r) => r.timings.ageMs!);
  const stepLine = cloud.lines.find((l) => /camera clock stepped back/.test(l));

  t.diagnostic(`agent: acknowledged ${stopped.sent}, dropped ${stopped.dropped}, left spooled ${stopped.spooledFrames}; topic: ${frames.records} records, ${frames.distinct} distinct, ` +
    `duplicated ${frames.duplicated}, out of order by fl-seq ${frames.outOfOrder}, capture time going backwards ${backwards.length}x (at seq ${backwards.map((b) => b.seq).join(',')})`);
  t.diagnostic(`cloud: results ${res.records} (duplicated ${res.duplicated}, out of order ${res.outOfOrder}), ages ${Math.min(...ages)}..${Math.max(...ages)} ms, ` +
    `flagged clock-ahead ${figures.clockAhead} (records ${results.filter((r) => r.clockAhead).length}), skipped too-old ${figures.tooOld}, superseded ${figures.superseded}, ` +
    `clock steps ${figures.steps}, offset now ${figures.offsetS} s, age histogram sum ${figures.ageSum.toFixed(1)} s`);
  t.diagnostic(`cloud log: ${stepLine ?? 'no step line'}`);

  assert.ok(backwards.length >= 1, 'the agent\'s capture times went backwards (the clock step happened)');
  assert.equal(frames.outOfOrder, 0, 'on the topic, frames stay in fl-seq order');
  assert.equal(res.outOfOrder, 0, 'results come out in fl-seq order');
  assert.equal(res.duplicated, 0, 'no frame has two results');
  assert.ok(ages.every((a) => a >= 0 && a <= MAX_LAG_MS), `every reported age is within 0..maxLagMs: ${Math.min(...ages)}..${Math.max(...ages)}`);
  assert.ok(figures.ageSum >= 0, 'the age histogram holds no negative age');
  assert.ok(results.every((r) => r.timings.ageMs !== undefined || r.clockAhead), 'a record without an age says why (clockAhead)');
  assert.ok(figures.steps >= 1 && stepLine, 'the cloud counted and logged the step back');
  // Without the step handling every frame for about 5 s after the step is "too old" (an age of 60 s).
  assert.ok(figures.tooOld < 10, `${figures.tooOld} frames skipped as too old`);
  // Results go on after the step: frames captured after it were inferred.
  const stepSeq = backwards[0]!.seq;
  assert.ok(results.filter((r) => r.seq >= stepSeq).length >= 20, 'frames after the step back were inferred');
});
