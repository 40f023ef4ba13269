// Offsets are committed only after results are published: a service killed
// (SIGKILL, no chance to clean up) while a frame is being inferred leaves that
// frame's offset uncommitted, and the next instance infers and publishes it.
// Runs the real CLI's main() as a child (slow-cloud.ts: frameline-cloud run
// --config FILE with the slow test model given to its workers).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';
import { freePort, sharedBroker, solidJpeg, waitFor as poll } from '@frameline/shared/testing';
import type { InferenceRecord } from '../src/service.js';

const logger = createLogger({ level: 'error', scope: 'test' });
const BIN = fileURLToPath(new URL('./slow-cloud.js', import.meta.url));

const waitFor = (what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000) => poll(what, cond, timeoutMs, 100);

async function metric(port: number, name: string): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : undefined;
  } catch {
    return undefined;
  }
}

test('a frame in inference when the service is killed is not committed, and the restarted service publishes its result', { timeout: 180_000 }, async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('service-restart');
  const p = broker.props;
  const groupId = `frameline-test-${randomUUID().slice(0, 8)}`;
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'fl-cloud-'));
  const configFile = join(dir, 'cloud.json');
  writeFileSync(configFile, JSON.stringify({
    kafka: { brokers: p['bootstrap.internal'], username: p['sasl.cloud.username'], passwordFile: p['sasl.cloud.password.file'], groupId, sessionTimeout: '6s' },
    topics: { frames: topics.frames, backfill: topics.backfill, inferences: topics.inferences, dlq: topics.dlq },
    ingest: { commitInterval: '200ms' },
    scheduler: { workers: 1, maxLagMs: '120s' },
    http: { listen: `127.0.0.1:${port}` },
    log: { level: 'warn' },
  }));
  const start = (): ChildProcess => {
    // 5 s per frame: time to see the worker busy and kill the service mid-inference even on a loaded machine.
    const child = spawn(process.execPath, [BIN, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SLOW_MODEL_MS: '5000' } });
    return child;
  };

  const jpeg = await solidJpeg(64, 48, '#468');
  const camera = 'CAMERA-1';
  const run = randomUUID();
  const partition = partitionFor(camera, 3, 'key');
  const producer = createKafka(broker.connection('agent', 'external'), logger).producer();
  const reader = createKafka(broker.connection('cloud', 'internal'), logger).consumer({ groupId: `frameline-test-read-${randomUUID().slice(0, 8)}` });
  const admin = createKafka(broker.connection('cloud', 'internal'), logger).admin();
  const published: InferenceRecord[] = [];
  await Promise.all([producer.connect(), reader.connect(), admin.connect()]);
  await reader.subscribe({ topic: topics.inferences, fromBeginning: true });
  await reader.run({ eachMessage: async ({ message }) => void published.push(JSON.parse(message.value!.toString()) as InferenceRecord) });
  const produce = (seq: number) => producer.send({ topic: topics.frames, acks: -1, messages: [{ ...encodeFrame({ camera, run, seq, capturedAt: Date.now(), width: 64, height: 48, jpeg }), partition }] });
  const committed = async () => Number((await admin.fetchOffsets({ groupId, topics: [topics.frames] }))[0]!.partitions.find((x) => x.partition === partition)!.offset);

  let first: ChildProcess | undefined = start();
  let second: ChildProcess | undefined;
  try {
    await waitFor('the first service to consume', async () => (await metric(port, 'frameline_frames_consumed_total')) !== undefined || (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)));
    for (let seq = 0; seq < 3; seq++) {
      await produce(seq);
      await waitFor(`result of frame ${seq}`, () => published.some((r) => r.seq === seq));
    }
    await waitFor('frames 0-2 committed', async () => (await committed()) === 3, 10_000);
    await produce(3);
    await waitFor('frame 3 in inference', async () => (await metric(port, 'frameline_inference_workers_busy')) === 1, 10_000);
    await new Promise((r) => setTimeout(r, 400)); // past a commit interval: a commit-on-consume bug would show now
    first.kill('SIGKILL');
    await new Promise((r) => first!.once('exit', r));
    first = undefined;
    assert.ok(!published.some((r) => r.seq === 3), 'frame 3 was killed before its result was published');
    assert.equal(await committed(), 3, 'the offset of the frame being inferred was not committed');

    second = start();
    await waitFor('frame 3 inferred by the restarted service', () => published.some((r) => r.seq === 3), 90_000);
    await produce(4);
    await waitFor('result of frame 4', () => published.some((r) => r.seq === 4));
    await waitFor('frames up to 4 committed', async () => (await committed()) === 5, 10_000);
    t.diagnostic(`published seqs: ${published.map((r) => r.seq).join(',')}`);
    assert.deepEqual([...new Set(published.map((r) => r.seq))].sort(), [0, 1, 2, 3, 4]);

    // A graceful stop (SIGTERM) exits 0 after committing.
    second.kill('SIGTERM');
    const code = await new Promise((r) => second!.once('exit', r));
    second = undefined;
    assert.equal(code, 0);
  } finally {
    first?.kill('SIGKILL');
    second?.kill('SIGKILL');
    await Promise.all([producer.disconnect(), reader.disconnect(), admin.disconnect()]);
  }
});
