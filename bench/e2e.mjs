// End to end on one machine: real agents (agent/bin/frameline-agent.js,
// camera source "file" replaying vtest.mp4 at a set rate, EXTERNAL TLS + SCRAM)
// → the bench broker → the real cloud service (BlazePose, zone alerts on every
// camera) → video.inferences and video.alerts. Every figure comes from the
// records' own timestamps (one host clock):
//   capture → inference record: inferences.publishedAt − capturedAt
//   capture → alert: alerts.publishedAt − endedAt (capture of the frame that confirmed it)
// benchLatency: 3 cameras × 15 fps, live and reliable delivery.
// benchScale: N cameras × 5 fps, N growing until the p99 age of the inferred
// frames (capture → result published) exceeds maxLagMs; CPU of the whole
// process trees (broker left out: it is shared with the other benches' topics).
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createKafka, createLogger } from '@frameline/shared';
import { connection, cpuSeconds, dist, freePort, stopChild, tail, waitFor } from './inference.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const MAX_LAG_MS = 1000;
/** The cloud's model in these runs: the service defaults (multi detector, tracking) with the lite landmarks, as the demo runs. */
const MODEL = { kind: 'blazepose', variant: 'lite', detector: 'multi' };
/** Settling time after every camera's first result before the measured window opens. */
const WARMUP_MS = 5000;

/** CPU-seconds of a process and all its descendants (agents run ffmpeg), from /proc. */
function treeCpuSeconds(pid) {
  let total = cpuSeconds(pid) ?? 0;
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      for (const child of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) total += treeCpuSeconds(Number(child));
    }
  } catch { /* gone */ }
  return total;
}

function spawnLogged(args, cwd) {
  const output = tail([]);
  const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const s of [child.stdout, child.stderr]) createInterface({ input: s }).on('line', (l) => output.push(l));
  return { child, output };
}

/**
 * One fleet run: the cloud, then `cameras` agents at `fps` in delivery `mode`
 * for `seconds`; returns the inference and alert records of the frames
 * captured after the warm-up, and CPU-seconds per second of the cloud's and
 * the agents' process trees over that window.
 */
export async function runFleet({ root, props, topics, cameras, fps, mode, seconds }) {
  const logger = createLogger({ level: 'error' });
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-e2e-'));
  const port = await freePort();
  const stamp = Date.now();
  const zones = Array.from({ length: cameras }, (_, i) => ({ camera: `CAMERA-${i + 1}`, name: 'walkway', polygon: [[0, 0.45], [1, 0.45], [1, 1], [0, 1]], dwell: '1s' }));
  writeFileSync(join(dir, 'cloud.json'), JSON.stringify({
    kafka: { brokers: [props['bootstrap.internal']], security: 'sasl_plaintext', username: 'cloud', passwordFile: props['sasl.cloud.password.file'], clientId: 'bench-e2e-cloud', groupId: `frameline-bench-e2e-${stamp}` },
    topics, scheduler: { maxLagMs: MAX_LAG_MS }, model: MODEL, analysis: { zones }, http: { listen: `127.0.0.1:${port}` }, log: { level: 'info' },
  }));
  const inferences = [];
  const alerts = [];
  const consumer = createKafka(connection(props, 'cloud', 'internal', 'bench-e2e-results'), logger).consumer({ groupId: `frameline-bench-e2e-results-${stamp}` });
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.inferences, topics.alerts], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      const r = JSON.parse(message.value.toString('utf8'));
      if (topic === topics.alerts) alerts.push({ camera: r.camera, kind: r.kind, endedAt: r.endedAt, raisedAt: r.raisedAt, publishedAt: r.publishedAt });
      else if (!r.late) inferences.push({ camera: r.camera, capturedAt: r.capturedAt, ingestedAt: r.ingestedAt, publishedAt: r.publishedAt, persons: r.persons?.length ?? 0 });
    },
  });
  const cloud = spawnLogged([join(root, 'cloud/bin/frameline-cloud.js'), 'run', '--config', join(dir, 'cloud.json')], root);
  const agents = [];
  try {
    let assigned = false;
    createInterface({ input: cloud.child.stdout }).on('line', (l) => { if (/partitions assigned/.test(l)) assigned = true; });
    const healthy = async () => { try { return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok; } catch { return false; } };
    await waitFor('frameline-cloud start', async () => assigned && (await healthy()), 180_000, cloud.child, cloud.output);
    for (let i = 1; i <= cameras; i++) {
      const file = join(dir, `agent-${i}.json`);
      mkdirSync(join(dir, `state-${i}`));
      writeFileSync(file, JSON.stringify({
        camera: { id: `CAMERA-${i}`, source: 'file', file: { path: join(root, 'agent/test/fixtures/vtest.mp4'), fps, loop: true } },
        kafka: { brokers: [props['bootstrap.external']], security: 'sasl_ssl', username: 'agent', passwordFile: props['sasl.agent.password.file'], caFile: props['ssl.ca'], clientId: `bench-e2e-${i}` },
        topics: { frames: topics.frames, backfill: topics.backfill }, partitioning: 'key', delivery: { mode },
        stateDir: join(dir, `state-${i}`), metrics: { listen: '' }, log: { level: 'warn' },
      }));
      agents.push(spawnLogged([join(root, 'agent/bin/frameline-agent.js'), 'run', '--config', file], root));
    }
    const startedAt = Date.now();
    // The window opens once every camera has a result (agents and TLS handshakes are slow on a loaded machine), plus a settling time.
    const seen = () => new Set(inferences.map((r) => r.camera)).size >= cameras;
    await waitFor(`the first inference record of each of ${cameras} cameras`, async () => seen() || agents.some((a) => a.child.exitCode !== null), 240_000, cloud.child, { text: () => agents.map((a, i) => `agent ${i + 1}:\n${a.output.text()}`).join('\n') + `\ncloud:\n${cloud.output.text()}` });
    for (const a of agents) if (a.child.exitCode !== null) throw new Error(`agent exited with ${a.child.exitCode}:\n${a.output.text()}`);
    await sleep(WARMUP_MS);
    const from = Date.now();
    const cpu0 = { cloud: treeCpuSeconds(cloud.child.pid), agents: agents.reduce((n, a) => n + treeCpuSeconds(a.child.pid), 0) };
    await sleep(seconds * 1000);
    const to = Date.now();
    const cpu1 = { cloud: treeCpuSeconds(cloud.child.pid), agents: agents.reduce((n, a) => n + treeCpuSeconds(a.child.pid), 0) };
    for (const a of agents) if (a.child.exitCode !== null) throw new Error(`agent exited with ${a.child.exitCode}:\n${a.output.text()}`);
    await Promise.all(agents.map((a) => stopChild(a.child)));
    await sleep(MAX_LAG_MS + 3000); // what was captured before `to` is inferred or skipped by now
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const skipped = [...metrics.matchAll(/^frameline_frames_skipped_total\{reason="([^"]+)"\} (\S+)$/gm)].reduce((n, m) => n + Number(m[2]), 0);
    const inWindow = inferences.filter((r) => r.capturedAt >= from && r.capturedAt < to);
    const alertsInWindow = alerts.filter((a) => a.endedAt >= from && a.endedAt < to);
    const windowS = (to - from) / 1000;
    return {
      cameras, fps, mode, seconds: windowS, startupSeconds: (from - startedAt) / 1000, model: MODEL, maxLagMs: MAX_LAG_MS,
      offeredPerSec: cameras * fps,
      inferredPerSec: inWindow.length / windowS,
      personsPerFrame: inWindow.length ? inWindow.reduce((n, r) => n + r.persons, 0) / inWindow.length : null,
      skippedTotal: skipped,
      captureToInferenceMs: dist(inWindow.map((r) => r.publishedAt - r.capturedAt)),
      captureToIngestMs: dist(inWindow.map((r) => r.ingestedAt - r.capturedAt)),
      alerts: alertsInWindow.length,
      captureToAlertMs: dist(alertsInWindow.map((a) => a.publishedAt - a.endedAt)),
      cpuCoresCloud: (cpu1.cloud - cpu0.cloud) / windowS,
      cpuCoresAgents: (cpu1.agents - cpu0.agents) / windowS,
    };
  } finally {
    await Promise.all(agents.map((a) => stopChild(a.child, 5000)));
    await stopChild(cloud.child);
    await consumer.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchLatency({ root, props, freshTopics, seconds }) {
  const runs = [];
  for (const mode of ['live', 'reliable']) {
    console.log(`  end to end, 3 cameras × 15 fps, ${mode}`);
    runs.push(await runFleet({ root, props, topics: await freshTopics(`bench-e2e-${mode}`), cameras: 3, fps: 15, mode, seconds }));
  }
  return { runs };
}

/** Steps through `steps` camera counts at 5 fps (reliable, the agent's default) and stops after the first that misses maxLagMs. */
export async function benchScale({ root, props, freshTopics, seconds, steps }) {
  const runs = [];
  for (const cameras of steps) {
    console.log(`  scale: ${cameras} camera(s) × 5 fps`);
    const r = await runFleet({ root, props, topics: await freshTopics('bench-scale'), cameras, fps: 5, mode: 'reliable', seconds });
    runs.push(r);
    if (!(r.captureToInferenceMs.p99 <= MAX_LAG_MS)) break;
  }
  const sustained = runs.filter((r) => r.captureToInferenceMs.p99 <= MAX_LAG_MS).map((r) => r.cameras);
  return { runs, maxLagMs: MAX_LAG_MS, sustainedCameras: sustained.length ? Math.max(...sustained) : 0 };
}
