// The three-broker KRaft cluster that `kafka.sh up --nodes 3` runs locally
// (replication factor 3, min.insync.replicas 2): mid-stream, the leader of the
// agent's partition is SIGKILLed. A real frameline-agent in reliable mode must
// lose nothing (every acknowledged fl-seq is on the topic, once, in order) and
// two frameline-cloud instances in one consumer group must carry on.
// Cameras 2 and 3 come from a plain producer so that every partition, and so
// both instances, has work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { createKafka, createLogger, encodeFrame, partitionFor, TOPICS } from '@frameline/shared';
import { REPO_ROOT, startPrivateBroker } from '@frameline/shared/testing';
import { createCloudService, type InferenceRecord } from '@frameline/cloud/dist/src/service.js';
import { testCloudConfig } from '@frameline/cloud/dist/test/support.js';

const AGENT_BIN = join(REPO_ROOT, 'agent/bin/frameline-agent.js');
const logger = createLogger({ level: 'error', scope: 'test' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function waitFor(what: string, timeoutMs: number, cond: () => boolean, context = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await sleep(200);
  }
}

test('a broker of three is SIGKILLed mid-stream: the reliable agent loses nothing, in order; two cloud instances carry on', { timeout: 10 * 60_000 }, async (t) => {
  // Cleanups run last-in first-out: clients before the brokers they talk to.
  const cleanups: Array<() => unknown> = [];
  t.after(async () => {
    // Each bounded: a client still retrying a gone broker must not hold the run.
    for (const c of cleanups.reverse()) await Promise.race([Promise.resolve().then(c).catch(() => {}), sleep(20_000)]);
  });
  const t0 = Date.now();
  const cluster = await startPrivateBroker('cluster-failover', 29700, {}, ['--nodes', '3']);
  cleanups.push(() => cluster.destroy());
  t.diagnostic(`three-node cluster up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  const topics = { ...TOPICS };
  const admin = cluster.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const meta = await admin.fetchTopicMetadata({ topics: [topics.frames] });
  const frames0 = meta.topics[0]!.partitions.find((p) => p.partitionId === 0)!;
  assert.equal(frames0.replicas.length, 3, 'video.frames has 3 replicas');
  const cfg = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: 2, name: topics.frames, configNames: ['min.insync.replicas'] }] });
  assert.equal(cfg.resources[0]!.configEntries[0]!.configValue, '2', 'min.insync.replicas 2');

  // Two cloud instances, one group.
  const groupId = `frameline-failover-${randomUUID().slice(0, 8)}`;
  const config = () => testCloudConfig(cluster, topics, { kafka: { groupId }, ingest: { commitInterval: '500ms' }, scheduler: { maxLagMs: '10s' } });
  const results = { a: [] as InferenceRecord[], b: [] as InferenceRecord[] };
  const a = createCloudService(config(), { logger });
  const b = createCloudService(config(), { logger });
  a.onResult((r) => void results.a.push(r));
  b.onResult((r) => void results.b.push(r));
  await a.start();
  await b.start();
  cleanups.push(() => a.stop(), () => b.stop());

  // The agent under test: camera 1 on partition 0, reliable, 10 fps, bootstrapping from all three brokers.
  const dir = mkdtempSync(join(tmpdir(), 'fl-failover-'));
  const agentConfig = join(dir, 'agent.json');
  writeFileSync(agentConfig, JSON.stringify({
    camera: { id: 'CAMERA-1', source: 'synthetic', width: 160, height: 120, fps: 10 },
    kafka: { brokers: cluster.props['bootstrap.external']!.split(','), passwordFile: cluster.props['sasl.agent.password.file'], caFile: cluster.props['ssl.ca'], connectionTimeout: '3s' },
    partitioning: 'camera-index',
    delivery: { mode: 'reliable', backfill: 'inline', sendTimeout: '4s', spool: { maxBytes: '64MiB' } },
    stateDir: join(dir, 'state'),
  }));
  const agent = spawn(process.execPath, [AGENT_BIN, 'run', '--config', agentConfig], { stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => agent.exitCode === null && agent.kill('SIGKILL'));
  const lines: string[] = [];
  for (const s of [agent.stdout, agent.stderr]) s.on('data', (buf: Buffer) => lines.push(...buf.toString().split('\n').filter(Boolean)));

  // Cameras 2 and 3, so that both instances have partitions with frames.
  const producer = createKafka(cluster.connection('agent', 'external'), logger).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#446688' } }).jpeg().toBuffer();
  const run = randomUUID();
  let seq = 0;
  let producing = true;
  let producerErrors = 0;
  const stream = (async () => {
    while (producing) {
      const capturedAt = Date.now();
      await producer.send({
        topic: topics.frames, acks: -1,
        messages: ['CAMERA-2', 'CAMERA-3'].map((camera) => ({ ...encodeFrame({ camera, run, seq, capturedAt, width: 64, height: 48, jpeg }), partition: partitionFor(camera, 3, 'camera-index') })),
      }).then(() => void seq++, () => void producerErrors++);
      await sleep(100);
    }
  })();

  await waitFor('the agent sending and both instances inferring', 120_000,
    () => lines.some((l) => /sending frames directly/.test(l)) && results.a.length > 0 && results.b.length > 0,
    () => `a=${results.a.length} b=${results.b.length}\n${lines.slice(-10).join('\n')}`);
  await sleep(3000);

  // SIGKILL the leader of the agent's partition: no goodbye, as when an instance dies.
  const leader = frames0.leader;
  const leaderPid = Number(readFileSync(join(cluster.dir, `node-${leader}`, 'run/kafka.pid'), 'utf8'));
  const atKill = { a: results.a.length, b: results.b.length };
  process.kill(leaderPid, 'SIGKILL');
  const killedAt = Date.now();
  t.diagnostic(`SIGKILLed broker ${leader} (pid ${leaderPid}), leader of ${topics.frames}-0; results so far a=${atKill.a} b=${atKill.b}`);

  // Carry on: both instances keep inferring, the agent keeps acknowledging.
  await waitFor('both instances inferring again after the kill', 120_000,
    () => results.a.length > atKill.a + 10 && results.b.length > atKill.b + 10,
    () => `a=${results.a.length} b=${results.b.length}`);
  t.diagnostic(`both instances had 10 more results ${Date.now() - killedAt} ms after the kill`);
  // Stop once the agent is back to sending directly (its spool drained inline), a few seconds on.
  const policy = () => lines.filter((l) => /sending frames directly|writing new frames to the spool|dropping the oldest/.test(l)).at(-1) ?? '';
  await waitFor('the agent sending directly again', 120_000, () => /sending frames directly/.test(policy()), () => lines.slice(-20).join('\n'));
  await sleep(5000);
  await waitFor('the agent sending directly again', 120_000, () => /sending frames directly/.test(policy()), () => lines.slice(-20).join('\n'));
  t.diagnostic(`agent after the kill: ${lines.filter((l) => / WARN /.test(l)).length} warnings, e.g. ${lines.find((l) => / WARN /.test(l)) ?? 'none'}`);

  producing = false;
  await stream;
  agent.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => agent.once('exit', r));
  assert.equal(code, 0, lines.slice(-20).join('\n'));
  const stopped = lines.find((l) => /\[agent\] stopped/.test(l)) ?? '';
  const sent = Number(/sent=(\d+)/.exec(stopped)?.[1]);
  assert.match(stopped, /spooledFrames=0/, `nothing left in the spool: ${stopped}\n${lines.slice(-30).join('\n')}`);
  const runLine = lines.find((l) => /run=[0-9a-f-]{36}/.test(l));
  t.diagnostic(`agent: ${stopped}; ${runLine ?? ''}`);

  // Every acknowledged frame of camera 1 is on the topic once, in fl-seq order.
  const got = await cluster.readRecords(topics.frames, { count: sent, timeoutMs: 60_000, settleMs: 1500, filter: (m) => m.headers?.['fl-camera']?.toString() === 'CAMERA-1' });
  const seqs = got.map((r) => Number(r.message.headers?.['fl-seq']?.toString()));
  t.diagnostic(`${seqs.length} camera-1 frames on ${topics.frames}, agent acknowledged ${sent}; producer: ${seq} pairs sent, ${producerErrors} sends failed and counted`);
  assert.ok(sent > 100, `the agent acknowledged ${sent} frames`);
  assert.equal(new Set(got.map((r) => r.partition)).size, 1, 'one partition');
  const seen = new Set(seqs);
  const missing = range(sent).filter((i) => !seen.has(i));
  const twice = seqs.filter((x, i) => seqs.indexOf(x) !== i);
  const disorder = seqs.findIndex((x, i) => i > 0 && x <= seqs[i - 1]!);
  t.diagnostic(`missing ${JSON.stringify(missing.slice(0, 20))}, twice ${JSON.stringify(twice.slice(0, 20))}, first out of order at offset ${disorder}${disorder > 0 ? ` (${seqs.slice(Math.max(0, disorder - 3), disorder + 3).join(',')})` : ''}`);
  assert.deepEqual(seqs, range(sent), 'fl-seq 0..sent-1: nothing lost, nothing twice, in order');

  // Per instance and camera, results in order; the group reached the newest frames.
  const newest = Math.max(...[...results.a, ...results.b].filter((r) => r.camera === 'CAMERA-2').map((r) => r.seq));
  assert.ok(newest >= seq - 20, `the group reached camera 2's newest frames (seq ${newest} of ${seq - 1})`);
  for (const list of [results.a, results.b]) {
    for (const camera of ['CAMERA-1', 'CAMERA-2', 'CAMERA-3']) {
      const s = list.filter((r) => r.camera === camera).map((r) => r.seq);
      assert.deepEqual(s, [...s].sort((x, y) => x - y), `${camera} in order`);
    }
  }
});
