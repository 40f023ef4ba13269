// Lag over time with a model slower than the cameras: 3 cameras x 30 fps of
// real frames, and a model that decodes and then burns BENCH_LAG_MS_PER_FRAME
// (default 50) ms per frame. Both designs consume the same stream at the same
// time from the same broker:
// - frameline: the real cloud service (cloud/test/slow-cloud.js: main() with
//   the slow test model through the ModelSpec seam), maxLagMs 1000;
// - the second seed's design: bench/python/seed_queue.py, every frame queued
//   and inferred in order, same decode + per-frame burn.
// Every second: the age (now - capture time) of the frames inferred in that
// second (median), per design; the least-squares slope says whether lag grows.
import { execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';
import { connection, freePort, stopChild, tail, waitFor } from './inference.mjs';

const run = promisify(execFile);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const CAMERAS = 3;
const FPS = 30;
const MAX_LAG_MS = 1000;

async function frames(root) {
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-lag-frames-'));
  await run('ffmpeg', ['-loglevel', 'error', '-i', join(root, 'agent/test/fixtures/vtest.mp4'), '-vf', 'scale=480:270', '-frames:v', '60', '-q:v', '5', join(dir, 'f-%03d.jpg')]);
  const jpegs = readdirSync(dir).sort().map((f) => readFileSync(join(dir, f)));
  rmSync(dir, { recursive: true, force: true });
  return jpegs;
}

/** 3 cameras at FPS, each frame stamped when it is produced (acks=1, like live mode). */
async function play({ props, topic, jpegs, seconds, logger }) {
  const producer = createKafka(connection(props, 'agent', 'internal', 'bench-lag-cameras'), logger).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  const cams = Array.from({ length: CAMERAS }, (_, i) => ({ id: `CAMERA-${i + 1}`, index: i, run: randomUUID(), seq: 0 }));
  const startedAt = Date.now();
  const sends = [];
  let late = 0;
  for (let k = 0; k < seconds * FPS; k++) {
    const wait = startedAt + (k * 1000) / FPS - Date.now();
    if (wait > 0) await sleep(wait);
    else late++;
    // One request per tick for the three cameras: a loaded machine keeps up with 30 requests/s, not 90.
    const messages = cams.map((cam) => ({ ...encodeFrame({ camera: cam.id, run: cam.run, seq: cam.seq++, capturedAt: Date.now(), width: 480, height: 270, jpeg: jpegs[(k + cam.index * 20) % jpegs.length] }), partition: partitionFor(cam.id, CAMERAS, 'camera-index') }));
    sends.push(producer.send({ topic, acks: 1, messages }).catch(() => {}));
  }
  await Promise.all(sends);
  await producer.disconnect();
  return { startedAt, endedAt: Date.now(), produced: seconds * FPS * CAMERAS, ticksLate: late };
}

function perSecond(done, startedAt, seconds) {
  const points = [];
  for (let t = 0; t < seconds; t++) {
    const ages = done.filter((d) => d.doneAt >= startedAt + t * 1000 && d.doneAt < startedAt + (t + 1) * 1000).map((d) => d.doneAt - d.capturedAt).sort((a, b) => a - b);
    points.push({ t, inferred: ages.length, ageMs: ages.length ? ages[Math.floor(ages.length / 2)] : null });
  }
  const xy = points.filter((p) => p.ageMs !== null);
  const mx = xy.reduce((s, p) => s + p.t, 0) / xy.length;
  const my = xy.reduce((s, p) => s + p.ageMs, 0) / xy.length;
  const slope = xy.reduce((s, p) => s + (p.t - mx) * (p.ageMs - my), 0) / xy.reduce((s, p) => s + (p.t - mx) ** 2, 0) / 1000;
  return { points, slope, inferred: done.length, inferredPerSec: done.length / seconds, lastAgeMs: xy.at(-1)?.ageMs ?? null, maxAgeMs: Math.max(...xy.map((p) => p.ageMs)) };
}

export async function benchLag({ root, props, topics, seconds, python }) {
  const logger = createLogger({ level: 'error' });
  const msPerFrame = Number(process.env.BENCH_LAG_MS_PER_FRAME ?? 50);
  const jpegs = await frames(root);
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-lag-'));
  const port = await freePort();
  const stamp = Date.now();
  writeFileSync(join(dir, 'cloud.json'), JSON.stringify({
    kafka: { brokers: [props['bootstrap.internal']], security: 'sasl_plaintext', username: 'cloud', passwordFile: props['sasl.cloud.password.file'], clientId: 'bench-lag-cloud', groupId: `frameline-bench-lag-${stamp}` },
    topics: { frames: topics.frames, backfill: topics.backfill, inferences: topics.inferences, dlq: topics.dlq },
    scheduler: { maxLagMs: MAX_LAG_MS }, http: { listen: `127.0.0.1:${port}` }, log: { level: 'info' },
  }));
  const fl = [];
  const seed = [];
  const consumer = createKafka(connection(props, 'cloud', 'internal', 'bench-lag-results'), logger).consumer({ groupId: `frameline-bench-lag-results-${stamp}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.inferences], fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => {
    const r = JSON.parse(message.value.toString('utf8'));
    if (!r.late) fl.push({ camera: r.camera, capturedAt: r.capturedAt, doneAt: r.publishedAt ?? r.inferredAt });
  } });

  const cloudOut = tail([]);
  let assigned = false;
  const cloud = spawn(process.execPath, [join(root, 'cloud/dist/test/slow-cloud.js'), 'run', '--config', join(dir, 'cloud.json')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SLOW_MODEL_MS: String(msPerFrame) } });
  for (const s of [cloud.stdout, cloud.stderr]) createInterface({ input: s }).on('line', (l) => { cloudOut.push(l); if (/partitions assigned/.test(l)) assigned = true; });
  const seedOut = tail([]);
  let seedReady = false;
  const py = spawn(python, [join(root, 'bench/python/seed_queue.py'), '--bootstrap', props['bootstrap.internal'], '--password-file', props['sasl.cloud.password.file'], '--topic', topics.frames, '--ms-per-frame', String(msPerFrame)], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  createInterface({ input: py.stdout }).on('line', (l) => {
    try { const o = JSON.parse(l); if (o.ready) seedReady = true; else seed.push(o); } catch { seedOut.push(l); }
  });
  createInterface({ input: py.stderr }).on('line', (l) => seedOut.push(l));
  try {
    const healthy = async () => { try { return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok; } catch { return false; } };
    await waitFor('frameline-cloud (slow model) start', async () => assigned && (await healthy()), 120_000, cloud, cloudOut);
    await waitFor('seed_queue.py ready', async () => seedReady, 60_000, py, seedOut);
    const p = await play({ props, topic: topics.frames, jpegs, seconds, logger });
    await sleep(MAX_LAG_MS + 1500);
    const secondsRun = Math.round((p.endedAt - p.startedAt) / 1000);
    return {
      date: new Date().toISOString(), cameras: CAMERAS, fps: FPS, msPerFrame, maxLagMs: MAX_LAG_MS, seconds: secondsRun, produced: p.produced, ticksLate: p.ticksLate,
      series: { frameline: perSecond(fl, p.startedAt, secondsRun), 'seed design (every frame queued)': perSecond(seed, p.startedAt, secondsRun) },
    };
  } finally {
    await Promise.all([stopChild(cloud), stopChild(py, 5000)]);
    await consumer.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}
