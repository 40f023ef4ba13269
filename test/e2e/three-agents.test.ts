// Three real frameline-agent processes replay a real video (OpenCV's
// vtest.avi, as agent/test/fixtures/vtest.mp4) into the real broker over
// EXTERNAL; a consumer on INTERNAL sees each camera's frames on its own
// partition with fl-seq strictly increasing and no gaps (reliable mode).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFrame } from '@frameline/shared';
import { REPO_ROOT, freePort, sharedBroker } from '@frameline/shared/testing';

const BIN = join(REPO_ROOT, 'agent/bin/frameline-agent.js');
const VIDEO = join(REPO_ROOT, 'agent/test/fixtures/vtest.mp4');

interface AgentRun { camera: string; sent: number; code: number | null; log: string }

function runAgent(configFile: string, camera: string, runForMs: number): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const timer = setTimeout(() => child.kill('SIGTERM'), runForMs);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const sent = Number(/\[agent\] stopped .*sent=(\d+)/.exec(log)?.[1] ?? NaN);
      resolve({ camera, sent, code, log });
    });
  });
}

async function scrapeAfter(url: string, ms: number): Promise<string> {
  await new Promise((r) => setTimeout(r, ms));
  const res = await fetch(url);
  assert.equal(res.status, 200);
  return res.text();
}

test('three agents replaying a real video deliver every frame, per camera in order, on its own partition', async () => {
  const broker = await sharedBroker();
  const topics = await broker.topics('e2e-agents');
  const dir = mkdtempSync(join(tmpdir(), 'fl-e2e-'));
  const cameras = ['CAMERA-1', 'CAMERA-2', 'CAMERA-3'];
  const metricsPort = await freePort();
  const scraped = scrapeAfter(`http://127.0.0.1:${metricsPort}/metrics`, 8000);
  const runs = await Promise.all(cameras.map((camera, i) => {
    const file = join(dir, `${camera}.json`);
    writeFileSync(file, JSON.stringify({
      camera: { id: camera, source: 'file', file: { path: VIDEO, fps: 10 } },
      kafka: { brokers: [broker.props['bootstrap.external']], passwordFile: broker.props['sasl.agent.password.file'], caFile: broker.props['ssl.ca'] },
      topics: { frames: topics.frames, backfill: topics.backfill },
      partitioning: 'camera-index',
      delivery: { mode: 'reliable' },
      stateDir: join(dir, `state-${i}`),
      ...(i === 0 ? { metrics: { listen: `127.0.0.1:${metricsPort}` } } : {}),
    }));
    return runAgent(file, camera, 12_000);
  }));
  for (const r of runs) {
    assert.equal(r.code, 0, `${r.camera} exits 0 on SIGTERM\n${r.log.slice(-2000)}`);
    assert.ok(r.sent >= 40, `${r.camera} sent ${r.sent} frames in 12 s at 10 fps\n${r.log.slice(-2000)}`);
  }

  // CAMERA-1's /metrics, scraped while it ran
  const metrics = await scraped;
  assert.match(metrics, /frameline_agent_frames_sent_total\{camera="CAMERA-1"\} [1-9]\d*/);
  assert.match(metrics, /frameline_agent_broker_connected\{camera="CAMERA-1"\} 1/);
  assert.match(metrics, /frameline_agent_send_latency_seconds_count\{[^}]*path="direct"[^}]*\} [1-9]/);
  assert.match(metrics, /frameline_agent_spool_bytes\{camera="CAMERA-1"\} \d+/);
  // Default process metrics keep their standard names (one prefix, not frameline_agent_process_process_…).
  assert.match(metrics, /^process_resident_memory_bytes\{camera="CAMERA-1"\} \d+/m);
  assert.match(metrics, /^nodejs_heap_size_used_bytes\{camera="CAMERA-1"\} \d+/m);
  assert.doesNotMatch(metrics, /frameline_agent_process_/);

  const expected = runs.reduce((n, r) => n + r.sent, 0);
  const records = await broker.readRecords(topics.frames, { count: expected, timeoutMs: 60_000 });
  assert.equal(records.length, expected, `${records.length}/${expected} frames arrived`);
  const seen = new Map<string, { partition: number; seq: number; run: string }[]>();
  for (const { partition, message } of records) {
    const f = decodeFrame({ ...message, value: message.value }, { maxBytes: 32 << 20 });
    assert.equal(f.width, 768);
    assert.equal(f.height, 576);
    const list = seen.get(f.camera) ?? [];
    list.push({ partition, seq: f.seq, run: f.run });
    seen.set(f.camera, list);
  }

  for (const [i, camera] of cameras.entries()) {
    const frames = seen.get(camera) ?? [];
    const run = runs[i]!;
    assert.equal(frames.length, run.sent, `${camera}: every acknowledged frame arrived`);
    assert.deepEqual([...new Set(frames.map((f) => f.partition))], [i], `${camera} is alone on partition ${i}`);
    assert.equal(new Set(frames.map((f) => f.run)).size, 1, 'one run per agent process');
    assert.deepEqual(frames.map((f) => f.seq), frames.map((_, k) => k), `${camera}: fl-seq 0..${frames.length - 1} without gaps, in order`);
  }
});
