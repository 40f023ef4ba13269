// Pose inference, like for like (bench/README.md, "Inference"): every row
// runs the same ONNX models with the same multi-person steps over the same
// 768x576 frames of vtest.mp4, against a ceiling measured in the same run:
// - ceiling: a bare onnxruntime-node loop over decoded frames
//   (inference-ceiling.mjs), BlazePose lite and full, batch 1 and 3;
// - the full cloud path (consume -> decode -> infer -> publish), the real
//   service at scheduler.maxBatch 1 and with cross-camera batches of 3, under
//   3 cameras x 10 fps offered (more than it can infer here, so its inferred
//   frames/s is its capacity; stale frames are skipped, as designed);
// - python/onnx_pipeline.py: what a user would write instead (kafka-python,
//   OpenCV, onnxruntime's Python package, same models, same steps, in order);
// - python/seed_pipeline.py: the second seed's MediaPipe Pose pipeline as it
//   stands, which looks for one person per frame: less work, labelled so.
// Frames come from user agent over EXTERNAL with the frame record contract.
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
  return { n: s.length, p50: quantile(s, 0.5), p95: quantile(s, 0.95), p99: quantile(s, 0.99), max: s.length ? s[s.length - 1] : null };
}
export { dist };

/** CPU-seconds (utime + stime, all threads) a process has used so far, from /proc/<pid>/stat. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // fields 14, 15 in clock ticks (USER_HZ 100 on Linux)
  } catch {
    return null;
  }
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

/**
 * The real cloud service on the played stream. `scheduler` and `model` are
 * merged into its config (e.g. { maxBatch: 1 }, { detectEvery: 1 }); without
 * them the service's defaults apply (environment overrides still win).
 */
export async function benchFrameline({ root, props, topics, jpegs, seconds, logger, scheduler = {}, model = {} }) {
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-cloud-'));
  const port = await freePort();
  const stamp = Date.now();
  const config = {
    kafka: {
      brokers: [props['bootstrap.internal']], security: 'sasl_plaintext', username: 'cloud',
      passwordFile: props['sasl.cloud.password.file'], clientId: 'bench-frameline-cloud', groupId: `frameline-bench-cloud-${stamp}`,
    },
    topics: { frames: topics.frames, backfill: topics.backfill, inferences: topics.inferences, dlq: topics.dlq },
    scheduler: { maxLagMs: MAX_LAG_MS, ...scheduler },
    model: { kind: 'blazepose', variant: VARIANT, detector: DETECTOR, ...model },
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
    const cpu0 = cpuSeconds(child.pid);
    const play = await playCameras({ props, topic: topics.frames, jpegs, seconds, logger });
    const cpuInRun = cpuSeconds(child.pid) - cpu0;
    // frameline never holds a frame for more than maxLagMs: a short drain is enough.
    await sleep(MAX_LAG_MS + 2000);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const exit = await stopChild(child);
    await sleep(1000);
    const live = results.filter((r) => !r.late);
    const timing = (k) => dist(live.map((r) => r.timings[k]));
    const summary = summarise(live, play);
    // inferMs is the whole batch's: frames of one batch share inferredAt and inferMs
    const batchSize = new Map();
    for (const r of live) batchSize.set(`${r.inferredAt}|${r.timings.inferMs}`, (batchSize.get(`${r.inferredAt}|${r.timings.inferMs}`) ?? 0) + 1);
    const perFrameMs = live.map((r) => r.timings.inferMs / batchSize.get(`${r.inferredAt}|${r.timings.inferMs}`));
    return {
      available: true,
      config: { variant: VARIANT, detector: DETECTOR, maxLagMs: MAX_LAG_MS, workers: 'one per core', threadsPerWorker: 1, ...scheduler, ...model },
      ...summary,
      cpuMsPerInferredFrame: (cpuInRun * 1000) / summary.processedInRun,
      msPerFrame: dist(perFrameMs),
      meanBatch: live.length / batchSize.size,
      skippedByReason: parseSkipped(metrics),
      tracking: Object.fromEntries([...metrics.matchAll(/^frameline_tracking_total\{[^}]*?(\w+)="([^"]+)"[^}]*\} (\S+)/gm)].map((m) => [m[2], Number(m[3])])),
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

/**
 * A Python pipeline (seed_pipeline.py or onnx_pipeline.py: the same stdout
 * protocol) on the played stream; it infers every frame in order, so after the
 * stream it gets a bounded drain and is stopped like an operator would.
 */
async function benchPython({ root, props, topics, jpegs, seconds, python, logger, script, args, config }) {
  const output = tail([]);
  const done = [];
  let ready = false;
  const child = spawn(python, [
    join(root, 'bench/python', script), '--bootstrap', props['bootstrap.internal'], '--username', 'cloud',
    '--password-file', props['sasl.cloud.password.file'], '--topic', topics.frames, ...args,
  ], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  createInterface({ input: child.stderr }).on('line', (line) => output.push(line));
  createInterface({ input: child.stdout }).on('line', (line) => {
    let r;
    try { r = JSON.parse(line); } catch { output.push(line); return; }
    if (r.ready) ready = true;
    else done.push(r);
  });
  try {
    await waitFor(`${script} start (partitions assigned, model loaded)`, async () => ready, 180_000, child, output);
    const cpu0 = cpuSeconds(child.pid);
    const play = await playCameras({ props, topic: topics.frames, jpegs, seconds, logger });
    const cpuInRun = cpuSeconds(child.pid) - cpu0;
    const drainMs = Number(process.env.BENCH_INFERENCE_DRAIN_SECONDS ?? 10) * 1000;
    const deadline = Date.now() + drainMs;
    while (Date.now() < deadline && done.length < play.produced && child.exitCode === null) await sleep(200);
    const stoppedAt = Date.now();
    await stopChild(child);
    if (done.length === 0) throw new Error(`${script} processed no frame:\n${output.text()}`);
    const summary = summarise(done, play);
    return {
      available: true, config,
      ...summary,
      cpuMsPerInferredFrame: (cpuInRun * 1000) / summary.processedInRun,
      msPerFrame: dist(done.map((d) => d.decodeMs + d.inferMs)),
      drainedForSeconds: (stoppedAt - play.endedAt) / 1000,
      modelTimingsMs: { inferMs: dist(done.map((d) => d.inferMs)), decodeMs: dist(done.map((d) => d.decodeMs)) },
    };
  } finally {
    await stopChild(child, 5000);
  }
}

async function attempt(what, fn) {
  try {
    return await fn();
  } catch (err) {
    console.log(`  ${what} failed: ${String(err.message ?? err).split('\n')[0]}`);
    return { available: false, error: String(err.message ?? err) };
  }
}

/**
 * Every inference row of one run. quick: 4 ceiling frames per worker and a
 * 30 s stream per pipeline; full: 40 frames and 60 s (BENCH_INFERENCE_SECONDS).
 */
export async function benchInference({ root, props, freshTopics, quick, python }) {
  const seconds = Number(process.env.BENCH_INFERENCE_SECONDS ?? (quick ? 20 : 60));
  const ceilingFrames = Number(process.env.BENCH_CEILING_FRAMES ?? (quick ? 4 : 40));
  const logger = createLogger({ level: 'error' });
  const jpegs = await extractFrames(root);
  const { benchCeiling } = await import('./inference-ceiling.mjs');
  const ceiling = {};
  for (const [variant, batch] of [['lite', 1], ['full', 1], ['full', CAMERAS]]) {
    console.log(`  ceiling: bare onnxruntime-node loop, ${variant}, batch ${batch}`);
    const r = await benchCeiling({ jpegs: jpegs.slice(0, ceilingFrames), variant, batch });
    ceiling[`${variant}-b${batch}`] = { ...r, msPerFrame: dist(r.msPerFrame), cpuMsPerFrame: r.cpuMsPerFrame };
  }
  // The same work in Python on the ceiling's frames: persons per frame must agree with the ceiling's for "same work" to hold.
  console.log('  Python onnxruntime bare loop on the ceiling\'s frames');
  const pythonBare = await attempt('python bare loop', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fl-bench-bare-'));
    try {
      jpegs.slice(0, ceilingFrames).forEach((j, i) => writeFileSync(join(dir, `f-${String(i).padStart(3, '0')}.jpg`), j));
      const { stdout } = await run(python, [join(root, 'bench/python/onnx_pipeline.py'), '--models-dir', join(root, 'cloud/models'), '--variant', VARIANT, '--jpeg-dir', dir], { maxBuffer: 1 << 22 });
      const r = JSON.parse(stdout.trim().split('\n').pop());
      return { available: true, framesPerSec: r.framesPerSec, cpuMsPerFrame: r.cpuMsPerFrame, personsPerFrame: r.persons.reduce((a, b) => a + b, 0) / r.persons.length, msPerFrame: dist(r.msPerFrame) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  const stream = { root, props, jpegs, seconds, logger };
  const likeForLike = { detectEvery: 1, maxPersons: 8, minKeypointScore: 0.3, minDetectionScore: 0.5, threads: 1 };
  console.log('  cloud path, scheduler.maxBatch 1');
  const cloudBatch1 = await attempt('cloud batch 1', async () => benchFrameline({ ...stream, topics: await freshTopics('bench-inference'), scheduler: { maxBatch: 1 }, model: likeForLike }));
  console.log(`  cloud path, scheduler.maxBatch ${CAMERAS} (cross-camera batches)`);
  const cloudBatched = await attempt('cloud batched', async () => benchFrameline({ ...stream, topics: await freshTopics('bench-inference'), scheduler: { maxBatch: CAMERAS }, model: likeForLike }));
  console.log('  Python onnxruntime pipeline (python/onnx_pipeline.py)');
  const pythonOnnx = await attempt('python onnx pipeline', async () => benchPython({
    ...stream, topics: await freshTopics('bench-inference'), python, script: 'onnx_pipeline.py',
    args: ['--models-dir', join(root, 'cloud/models'), '--variant', VARIANT],
    config: { onnxruntime: 'Python 1.30.0, default session options (intra-op threads = cores), one process, every frame in order' },
  }));
  console.log('  the second seed\'s MediaPipe pipeline (python/seed_pipeline.py)');
  const venv = await ensureBaselineVenv(root);
  const seed = venv.error ? { available: false, error: venv.error } : await attempt('seed pipeline', async () => benchPython({
    ...stream, topics: await freshTopics('bench-inference'), python: venv.python, script: 'seed_pipeline.py',
    args: ['--model-complexity', VARIANT === 'full' ? '1' : VARIANT === 'lite' ? '0' : '2'],
    config: { mediapipe: '0.10.14 mp.solutions.pose.Pose, model_complexity=1 (full), one per camera' },
  }));
  const result = {
    seconds, cameras: CAMERAS, fps: FPS, frame: `${WIDTH}x${HEIGHT}`, variant: VARIANT, ceilingFrames,
    avgFrameBytes: Math.round(jpegs.reduce((n, j) => n + j.length, 0) / jpegs.length),
    cores: (await import('node:os')).cpus().length, ceiling, pythonBare, cloudBatch1, cloudBatched, pythonOnnx, seed,
  };
  const { inferenceMarkdown } = await import('./inference-report.mjs');
  result.markdown = inferenceMarkdown(result);
  return result;
}
