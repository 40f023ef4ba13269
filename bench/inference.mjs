// Pose inference under a live load: the frameline cloud service against a
// Python pipeline like the second seed's (kafka-python + OpenCV + MediaPipe
// Pose on every frame, in order), both fed the same stream in the same run:
// 3 cameras x 10 fps of real 768x576 frames for BENCH_INFERENCE_SECONDS
// (default 60), produced by the agent's user over EXTERNAL with the frame
// record contract. The two pipelines run one after the other, never together,
// so each has the whole (small) machine. What matters is lag: frameline keeps
// it under scheduler.maxLagMs by skipping stale frames; the seed queues every
// frame behind the model, so its lag grows for as long as the stream runs.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { Secret, createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const CAMERAS = 3;
const FPS = 10;
const WIDTH = 768;
const HEIGHT = 576;
/** The BlazePose landmark model both pipelines run: MediaPipe Pose's default (model_complexity=1). */
const VARIANT = 'full';
/** multi: the tiled detector for several small people (the service's default); single: one full-frame detection, like MediaPipe Pose. */
const DETECTOR = process.env.BENCH_INFERENCE_DETECTOR ?? 'multi';
const MAX_LAG_MS = 1000;
const WINDOW_MS = 10_000;

// ------------------------------------------------------------------ workload

export async function extractFrames(root, count = 100) {
  // 10 s of people walking at the video's own 768x576 and 10 fps.
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-inference-frames-'));
  try {
    await run('ffmpeg', ['-loglevel', 'error', '-i', join(root, 'agent/test/fixtures/vtest.mp4'), '-frames:v', String(count), '-q:v', '4', join(dir, 'f-%03d.jpg')]);
    return readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => readFileSync(join(dir, f)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function connection(props, user, listener, clientId) {
  const passwordFile = props[`sasl.${user}.password.file`];
  return {
    brokers: [props[`bootstrap.${listener}`]], clientId, username: user,
    security: listener === 'external' ? 'sasl_ssl' : 'sasl_plaintext',
    password: new Secret(readFileSync(passwordFile, 'utf8').trim(), passwordFile),
    caFile: listener === 'external' ? props['ssl.ca'] : '',
  };
}

/**
 * Plays CAMERAS cameras at FPS for `seconds`: each frame is stamped and sent
 * at its due time (capture time = the moment of producing), camera N on
 * partition N-1, cameras offset by a third of a frame interval. Resolves once
 * every send is acknowledged.
 */
async function playCameras({ props, topic, jpegs, seconds, logger }) {
  const producer = createKafka(connection(props, 'agent', 'external', 'bench-inference-cameras'), logger).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const cameras = Array.from({ length: CAMERAS }, (_, i) => ({ id: `CAMERA-${i + 1}`, index: i, run: randomUUID(), seq: 0 }));
  const perCamera = seconds * FPS;
  const interval = 1000 / FPS;
  const sends = [];
  let failed = 0;
  const startedAt = Date.now();
  for (let k = 0; k < perCamera; k++) {
    for (const cam of cameras) {
      const due = startedAt + k * interval + (cam.index * interval) / CAMERAS;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const message = encodeFrame({
        camera: cam.id, run: cam.run, seq: cam.seq++, capturedAt: Date.now(), width: WIDTH, height: HEIGHT,
        jpeg: jpegs[(k + cam.index * Math.floor(jpegs.length / CAMERAS)) % jpegs.length],
      });
      sends.push(producer.send({ topic, acks: 1, messages: [{ ...message, partition: partitionFor(cam.id, CAMERAS, 'camera-index') }] }).catch(() => { failed++; }));
    }
  }
  const endedAt = startedAt + seconds * 1000;
  await Promise.all(sends);
  await producer.disconnect();
  return { startedAt, endedAt, produced: perCamera * CAMERAS - failed, failed };
}

// ------------------------------------------------------------------ metrics

function quantile(sorted, q) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function dist(values) {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p95: quantile(s, 0.95), max: s.length ? s[s.length - 1] : null };
}

/**
 * Shared by both pipelines. `done`: one entry per processed frame with
 * camera, capturedAt, doneAt (epoch ms, same host clock), persons. Windows are
 * by completion time: what a viewer of the results saw in the first and in
 * the last WINDOW_MS of the stream.
 */
function summarise(done, { startedAt, endedAt, produced }) {
  const seconds = (endedAt - startedAt) / 1000;
  const inRun = done.filter((d) => d.doneAt >= startedAt && d.doneAt < endedAt);
  const perCamera = {};
  for (let i = 1; i <= CAMERAS; i++) perCamera[`CAMERA-${i}`] = inRun.filter((d) => d.camera === `CAMERA-${i}`).length / seconds;
  const latency = (from, to) => dist(done.filter((d) => d.doneAt >= from && d.doneAt < to).map((d) => d.doneAt - d.capturedAt));
  const window = Math.min(WINDOW_MS, (endedAt - startedAt) / 3);
  const first = latency(startedAt, startedAt + window);
  const last = latency(endedAt - window, endedAt);
  const capturedBeforeEnd = done.filter((d) => d.capturedAt < endedAt).length;
  return {
    seconds,
    produced,
    processed: done.length,
    processedInRun: inRun.length,
    framesPerSec: inRun.length / seconds,
    perCameraFramesPerSec: perCamera,
    windowSeconds: window / 1000,
    latencyFirstMs: first,
    latencyLastMs: last,
    latencyAllMs: dist(done.map((d) => d.doneAt - d.capturedAt)),
    // Frames produced during the run that had no result when it ended.
    unprocessedAtEnd: produced - done.filter((d) => d.doneAt < endedAt).length,
    unprocessedAfterDrain: produced - capturedBeforeEnd,
    personsPerFrame: done.length ? done.reduce((n, d) => n + d.persons, 0) / done.length : null,
  };
}

// ------------------------------------------------------------------ frameline

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

/** The last lines a child printed, for error messages. */
export function tail(lines, max = 40) {
  return { push: (l) => { lines.push(l); if (lines.length > max) lines.shift(); }, text: () => lines.join('\n') };
}

export function stopChild(child, timeoutMs = 20_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code, signal) => { clearTimeout(timer); resolve(code ?? signal); });
    child.kill('SIGTERM');
  });
}

export async function waitFor(what, check, timeoutMs, child, output) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (child && child.exitCode !== null) throw new Error(`${what}: the process exited with ${child.exitCode}:\n${output.text()}`);
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s:\n${output?.text() ?? ''}`);
    await sleep(250);
  }
}

function parseSkipped(metrics) {
  const skipped = {};
  for (const m of metrics.matchAll(/^frameline_frames_skipped_total\{reason="([^"]+)"\} (\S+)$/gm)) skipped[m[1]] = Number(m[2]);
  return skipped;
}

export async function benchFrameline({ root, props, topics, jpegs, seconds, logger }) {
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-cloud-'));
  const port = await freePort();
  const stamp = Date.now();
  const config = {
    kafka: {
      brokers: [props['bootstrap.internal']], security: 'sasl_plaintext', username: 'cloud',
      passwordFile: props['sasl.cloud.password.file'], clientId: 'bench-frameline-cloud', groupId: `frameline-bench-cloud-${stamp}`,
    },
    topics: { frames: topics.frames, backfill: topics.backfill, inferences: topics.inferences, dlq: topics.dlq },
    scheduler: { maxLagMs: MAX_LAG_MS },
    model: { kind: 'blazepose', variant: VARIANT, detector: DETECTOR },
    http: { listen: `127.0.0.1:${port}` },
    log: { level: 'info' },
  };
  const configFile = join(dir, 'cloud.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));

  // Results first, so not one record is missed.
  const results = [];
  const consumer = createKafka(connection(props, 'cloud', 'internal', 'bench-inference-results'), logger).consumer({ groupId: `frameline-bench-results-${stamp}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.inferences], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const r = JSON.parse(message.value.toString('utf8'));
      results.push({
        camera: r.camera, seq: r.seq, capturedAt: r.capturedAt, doneAt: r.publishedAt ?? r.inferredAt, inferredAt: r.inferredAt,
        persons: r.persons?.length ?? 0, timings: r.timings ?? {}, skippedSince: r.skippedSince ?? 0, late: r.late === true,
      });
    },
  });

  const output = tail([]);
  let assigned = false;
  const child = spawn(process.execPath, [join(root, 'cloud/bin/frameline-cloud.js'), 'run', '--config', configFile], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      output.push(line);
      if (/partitions assigned/.test(line)) assigned = true;
    });
  }
  const url = `http://127.0.0.1:${port}`;
  try {
    const healthy = async () => {
      try { return (await fetch(`${url}/healthz`)).ok; } catch { return false; }
    };
    await waitFor('frameline-cloud start (healthz 200, partitions assigned)', async () => assigned && (await healthy()), 120_000, child, output);
    const play = await playCameras({ props, topic: topics.frames, jpegs, seconds, logger });
    // frameline never holds a frame for more than maxLagMs: a short drain is enough.
    await sleep(MAX_LAG_MS + 2000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const exit = await stopChild(child);
    await sleep(1000);
    const live = results.filter((r) => !r.late);
    const timing = (k) => dist(live.map((r) => r.timings[k]));
    const summary = summarise(live, play);
    return {
      available: true,
      config: { variant: VARIANT, detector: DETECTOR, maxLagMs: MAX_LAG_MS, workers: 'one per core', threadsPerWorker: 1 },
      ...summary,
      skippedByReason: parseSkipped(metrics),
      serviceTimingsMs: { totalMs: timing('totalMs'), detectMs: timing('detectMs'), landmarksMs: timing('landmarksMs'), decodeMs: timing('decodeMs'), inferMs: timing('inferMs'), waitMs: timing('waitMs'), ageMs: timing('ageMs') },
      exit,
    };
  } finally {
    await stopChild(child);
    await consumer.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------ baseline

/**
 * The baseline's venv, installed once into .cache/bench-venv (gitignored) and
 * reinstalled when bench/python/requirements.txt changes. Returns the Python
 * to run, or the reason there is none (the pip error).
 */
async function ensureBaselineVenv(root) {
  const venv = join(root, '.cache/bench-venv');
  const python = join(venv, 'bin/python');
  const requirements = join(root, 'bench/python/requirements.txt');
  const stampFile = join(venv, '.frameline-requirements');
  const wanted = readFileSync(requirements, 'utf8');
  if (existsSync(python) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === wanted) return { python, installed: false };
  const system = process.env.BENCH_PYTHON ?? 'python3';
  const fail = (what, err) => ({ error: `${what}: ${String(err.stderr || err.stdout || err.message).trim().split('\n').slice(-12).join('\n')}` });
  console.log(`  installing the baseline's Python packages into ${venv} (once; mediapipe, opencv, kafka-python)...`);
  try {
    if (!existsSync(python)) await run(system, ['-m', 'venv', venv]);
  } catch (err) {
    return fail(`${system} -m venv failed`, err);
  }
  try {
    await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', requirements], { maxBuffer: 1 << 24, timeout: 15 * 60_000 });
  } catch (err) {
    return fail('pip install -r bench/python/requirements.txt failed', err);
  }
  try {
    await run(python, ['-c', 'import cv2, kafka, mediapipe as mp; mp.solutions.pose.Pose'], { maxBuffer: 1 << 22 });
  } catch (err) {
    return fail('the installed baseline cannot import cv2, kafka and mediapipe.solutions.pose', err);
  }
  writeFileSync(stampFile, wanted);
  return { python, installed: true };
}

async function benchBaseline({ root, props, topics, jpegs, seconds, python, logger }) {
  const output = tail([]);
  const done = [];
  let ready = false;
  const child = spawn(python, [
    join(root, 'bench/python/seed_pipeline.py'), '--bootstrap', props['bootstrap.internal'], '--username', 'cloud',
    '--password-file', props['sasl.cloud.password.file'], '--topic', topics.frames, '--model-complexity', VARIANT === 'full' ? '1' : VARIANT === 'lite' ? '0' : '2',
  ], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let r;
    try { r = JSON.parse(line); } catch { output.push(line); return; }
    if (r.ready) ready = true;
    else done.push(r);
  });
  try {
    await waitFor('seed_pipeline.py start (partitions assigned, model loaded)', async () => ready, 120_000, child, output);
    const play = await playCameras({ props, topic: topics.frames, jpegs, seconds, logger });
    // Let it work off what it can of its backlog, then stop it like an operator would.
    const drainMs = Number(process.env.BENCH_INFERENCE_DRAIN_SECONDS ?? 10) * 1000;
    const deadline = Date.now() + drainMs;
    while (Date.now() < deadline && done.length < play.produced && child.exitCode === null) await sleep(200);
    const stoppedAt = Date.now();
    await stopChild(child);
    if (done.length === 0) throw new Error(`seed_pipeline.py processed no frame:\n${output.text()}`);
    return {
      available: true,
      config: { mediapipe: '0.10.14 mp.solutions.pose.Pose, model_complexity=1 (full), one per camera', drainSeconds: drainMs / 1000 },
      ...summarise(done, play),
      drainedForSeconds: (stoppedAt - play.endedAt) / 1000,
      modelTimingsMs: { inferMs: dist(done.map((d) => d.inferMs)), decodeMs: dist(done.map((d) => d.decodeMs)) },
    };
  } finally {
    await stopChild(child, 5000);
  }
}

// ------------------------------------------------------------------ report

const ms = (v) => (v === null || v === undefined ? '–' : `${Math.round(v)}`);
const lat = (d) => `${ms(d.p50)} / ${ms(d.p95)} / ${ms(d.max)}`;
const fps = (v) => v.toFixed(1);

function markdown(r) {
  const { frameline: f, baseline: b } = r;
  const offered = CAMERAS * FPS;
  const md = [
    `## Inference: ${CAMERAS} cameras x ${FPS} fps of real ${WIDTH}x${HEIGHT} frames for ${r.seconds} s (${offered} frames/s offered), pose on a ${r.cores}-core host`,
    '',
    `Frames produced by user agent over EXTERNAL (TLS + SCRAM, frame record contract, camera-index partitions), consumed on INTERNAL as user cloud. ` +
      `Both pipelines run BlazePose **${VARIANT}** landmarks, one after the other against the same broker. Latency is capture to result ` +
      `(frameline: \`publishedAt\`; baseline: after \`pose.process\`) of the frames finished in the first and the last ${f.windowSeconds} s of the stream.`,
    '',
    '| pipeline | inferred frames/s (per camera) | frames inferred / produced | latency ms p50 / p95 / max, first ' + `${f.windowSeconds} s | last ${f.windowSeconds} s | persons / frame | model ms / frame p50 (p95) |`,
    '|---|---|---|---|---|---|---|',
    `| frameline cloud (blazepose ${VARIANT}, ${DETECTOR} detector, maxLagMs ${MAX_LAG_MS}) | ${fps(f.framesPerSec)} (${Object.values(f.perCameraFramesPerSec).map(fps).join(', ')}) | ${f.processed} / ${f.produced} | ${lat(f.latencyFirstMs)} | ${lat(f.latencyLastMs)} | ${f.personsPerFrame?.toFixed(2) ?? '–'} | ${ms(f.serviceTimingsMs.totalMs.p50)} (${ms(f.serviceTimingsMs.totalMs.p95)}) |`,
  ];
  if (b.available) {
    md.push(
      `| Python like the second seed (kafka-python, OpenCV, MediaPipe Pose ${VARIANT}, every frame in order) | ${fps(b.framesPerSec)} (${Object.values(b.perCameraFramesPerSec).map(fps).join(', ')}) | ${b.processed} / ${b.produced} | ${lat(b.latencyFirstMs)} | ${lat(b.latencyLastMs)} | ${b.personsPerFrame?.toFixed(2) ?? '–'} | ${ms(b.modelTimingsMs.inferMs.p50)} (${ms(b.modelTimingsMs.inferMs.p95)}) |`,
      `| **ratio** | frameline / baseline = **${(f.framesPerSec / b.framesPerSec).toFixed(2)}** | | | p95 at the end: baseline / frameline = **${(b.latencyLastMs.p95 / f.latencyLastMs.p95).toFixed(1)}x** | | |`,
    );
  } else {
    md.push(`| Python like the second seed | unavailable | | | | | |`);
  }
  md.push('');
  if (b.available) {
    md.push(`Frames/s is not work/s: frameline's ${DETECTOR} detector ${{ multi: 'runs BlazePose detection over overlapping tiles and then the landmark model on every person it finds', objects: 'runs CenterNet once over the whole frame and then the landmark model on every person it finds' }[DETECTOR] ?? 'runs one whole-frame detection and the landmark model on the person found'} ` +
      `(${f.personsPerFrame?.toFixed(1) ?? '–'} persons/frame here), while MediaPipe Pose looks for one person in the whole frame ` +
      `and found ${b.personsPerFrame?.toFixed(2) ?? '–'} per frame in this scene of small walking people. Both share ${r.cores} cores with the broker and the producer.`, '');
  }
  const skipped = Object.entries(f.skippedByReason).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
  md.push(`**Lag, frameline:** p95 ${ms(f.latencyFirstMs.p95)} ms in the first ${f.windowSeconds} s and ${ms(f.latencyLastMs.p95)} ms in the last (max ${ms(f.latencyAllMs.max)} ms over the run): ` +
    `bounded, because per camera only the newest frame waits and frames older than ${MAX_LAG_MS} ms are skipped and counted, never queued ` +
    `(no frame started inference later than ${ms(f.serviceTimingsMs.ageMs.max)} ms after capture; skipped: ${skipped}).`);
  if (b.available) {
    const grow = b.latencyFirstMs.p50 !== null && b.latencyLastMs.p50 !== null ? (b.latencyLastMs.p50 - b.latencyFirstMs.p50) / (b.seconds - b.windowSeconds) : null;
    md.push('', `**Lag, baseline:** p50 went from ${ms(b.latencyFirstMs.p50)} ms in the first ${b.windowSeconds} s to ${ms(b.latencyLastMs.p50)} ms in the last ` +
      `(${grow === null ? '–' : `${grow >= 0 ? '+' : ''}${grow.toFixed(0)} ms per second of stream`}); when the stream ended ${b.unprocessedAtEnd} of ${b.produced} frames were still queued behind the model, ` +
      `and ${b.unprocessedAfterDrain} after ${b.drainedForSeconds.toFixed(0)} s more: ${grow !== null && grow > 10 ? 'its lag grows for as long as the cameras run, as in the seed' : 'on this host the model kept up with this load'}.`);
  } else {
    md.push('', '**Baseline unavailable:**', '', '```', b.error, '```');
  }
  return md;
}

export async function benchInference({ root, props, topics }) {
  const seconds = Number(process.env.BENCH_INFERENCE_SECONDS ?? 60);
  const logger = createLogger({ level: 'error' });
  const [jpegs, venv] = [await extractFrames(root), await ensureBaselineVenv(root)];
  const frameline = await benchFrameline({ root, props, topics, jpegs, seconds, logger });
  let baseline;
  if (venv.error) baseline = { available: false, error: venv.error };
  else {
    try {
      baseline = await benchBaseline({ root, props, topics, jpegs, seconds, python: venv.python, logger });
    } catch (err) {
      baseline = { available: false, error: String(err.message ?? err) };
    }
  }
  const result = {
    seconds, cameras: CAMERAS, fps: FPS, frame: `${WIDTH}x${HEIGHT}`, avgFrameBytes: Math.round(jpegs.reduce((n, j) => n + j.length, 0) / jpegs.length),
    cores: (await import('node:os')).cpus().length, variant: VARIANT, frameline, baseline,
  };
  if (baseline.available) {
    result.ratios = {
      throughputFramelineOverBaseline: frameline.framesPerSec / baseline.framesPerSec,
      endLatencyP95BaselineOverFrameline: baseline.latencyLastMs.p95 / frameline.latencyLastMs.p95,
    };
  }
  result.markdown = markdown(result);
  return result;
}
