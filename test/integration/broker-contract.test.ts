// The frame record crosses the real broker intact: produced by the agent's
// path (EXTERNAL, SASL_SSL + SCRAM) and consumed by the cloud's (INTERNAL,
// SASL_PLAINTEXT + SCRAM), and readable/writable by kcat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KafkaMessage } from 'kafkajs';
import {
  createKafka, createLogger, decodeFrame, encodeFrame, explainKafkaError, partitionFor,
  type Frame, type TopicSet,
} from '@frameline/shared';
import { rawJpeg, sharedBroker, type TestBroker } from '@frameline/shared/testing';

const run = promisify(execFile);
const logger = createLogger({ level: 'warn', scope: 'test' });
let broker: TestBroker;
let topics: TopicSet;

before(async () => {
  broker = await sharedBroker();
  topics = await broker.topics('contract');
});

function jpeg(seed: number): Promise<Buffer> {
  return rawJpeg(96, 64, (i) => (i * (seed + 3)) & 0xff);
}

async function frames(camera: string, n: number): Promise<Frame[]> {
  const run = randomUUID();
  const out: Frame[] = [];
  for (let seq = 0; seq < n; seq++) {
    out.push({ camera, run, seq, capturedAt: 1764000000000 + seq * 66.5, width: 96, height: 64, jpeg: await jpeg(seq), motion: seq / n });
  }
  return out;
}

/** Reads `count` records of a topic from the beginning over INTERNAL as the cloud user. */
async function consumeAll(topic: string, count: number): Promise<{ partition: number; message: KafkaMessage }[]> {
  const got = await broker.readRecords(topic, { count });
  assert.equal(got.length, count, `${got.length}/${count} records arrived`);
  return got;
}

test('a frame produced over EXTERNAL (TLS + SCRAM) is consumed over INTERNAL with key, headers, timestamp and bytes identical', async () => {
  const sent = [...(await frames('CAMERA-1', 5)), ...(await frames('CAMERA-3', 5))];
  const producer = createKafka(broker.connection('agent', 'external'), logger).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({
    topic: topics.frames,
    acks: -1,
    messages: sent.map((f) => ({ ...encodeFrame(f), partition: partitionFor(f.camera, 3, 'key') })),
  });
  await producer.disconnect();

  const got = await consumeAll(topics.frames, sent.length);
  for (const f of sent) {
    const match = got.find(({ message }) => message.headers?.['fl-camera']?.toString() === f.camera && message.headers?.['fl-seq']?.toString() === String(f.seq));
    assert.ok(match, `frame ${f.camera}/${f.seq} arrived`);
    const expected = encodeFrame(f);
    assert.equal(match.partition, partitionFor(f.camera, 3, 'key'));
    assert.deepEqual(match.message.key, expected.key);
    assert.equal(match.message.timestamp, expected.timestamp);
    assert.ok(match.message.value?.equals(f.jpeg), 'value bytes identical');
    const headers = Object.fromEntries(Object.entries(match.message.headers ?? {}).map(([k, v]) => [k, String(v)]));
    assert.deepEqual(headers, expected.headers);
    assert.deepEqual(decodeFrame({ ...match.message, value: match.message.value }, { maxBytes: 1 << 24 }), { ...f, motion: Number(f.motion!.toFixed(4)) });
  }
  // per camera, offsets follow fl-seq
  for (const camera of ['CAMERA-1', 'CAMERA-3']) {
    const seqs = got.filter(({ message }) => message.key?.toString() === camera).map(({ message }) => Number(message.headers?.['fl-seq']?.toString()));
    assert.deepEqual(seqs, [0, 1, 2, 3, 4]);
  }
});

test('kcat reads our frame with key and headers as specified', async () => {
  const topicSet = await broker.topics('kcat-read');
  const [f] = await frames('CAMERA-2', 1);
  const producer = createKafka(broker.connection('agent', 'external'), logger).producer();
  await producer.connect();
  await producer.send({ topic: topicSet.frames, acks: -1, messages: [{ ...encodeFrame(f!), partition: partitionFor('CAMERA-2', 3, 'key') }] });
  await producer.disconnect();
  const { stdout } = await run('kcat', ['-F', broker.kcatConfig('cloud', 'internal'), '-C', '-t', topicSet.frames, '-c', '1', '-e', '-q',
    '-f', 'partition=%p\nkey=%k\ntimestamp=%T\nsize=%S\nheaders=%h\n'], { timeout: 30_000 });
  const out = Object.fromEntries(stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  assert.equal(out.partition, String(partitionFor('CAMERA-2', 3, 'key')));
  assert.equal(out.key, 'CAMERA-2');
  assert.equal(out.timestamp, '1764000000000');
  assert.equal(out.size, String(f!.jpeg.length));
  const headers = Object.fromEntries(out.headers!.split(',').map((kv) => kv.split('=') as [string, string]));
  assert.deepEqual(headers, encodeFrame(f!).headers);
});

test('a record produced by kcat with our headers decodes, and kcat murmur2_random picks our partition', async () => {
  const topicSet = await broker.topics('kcat-write', 12);
  const dir = mkdtempSync(join(tmpdir(), 'fl-kcat-'));
  const image = await jpeg(9);
  const file = join(dir, 'frame.jpg');
  writeFileSync(file, image);
  const run_ = randomUUID();
  const cameras = ['CAMERA-1', 'CAMERA-2', 'CAMERA-3', 'cam-garage'];
  for (const camera of cameras) {
    const headers = { 'content-type': 'image/jpeg', 'fl-schema': '1', 'fl-camera': camera, 'fl-run': run_, 'fl-seq': '0', 'fl-captured-at': '1764000000500', 'fl-width': '96', 'fl-height': '64' };
    await run('kcat', ['-F', broker.kcatConfig('agent', 'external'), '-P', '-t', topicSet.frames, '-k', camera, '-X', 'partitioner=murmur2_random',
      ...Object.entries(headers).flatMap(([k, v]) => ['-H', `${k}=${v}`]), file], { timeout: 30_000 });
  }
  const got = await consumeAll(topicSet.frames, cameras.length);
  for (const { partition, message } of got) {
    const frame = decodeFrame({ ...message, value: message.value }, { maxBytes: 1 << 24 });
    assert.ok(frame.jpeg.equals(image));
    assert.equal(frame.run, run_);
    assert.equal(partition, partitionFor(frame.camera, 12, 'key'), `kcat and frameline agree on ${frame.camera}'s partition`);
  }
  assert.deepEqual(got.map((g) => g.message.key?.toString()).sort(), [...cameras].sort());
});

test('a wrong SCRAM password is refused with a clear error', async () => {
  const conn = { ...broker.connection('agent', 'external'), retry: { retries: 0, initialRetryTimeMs: 100, maxRetryTimeMs: 100 } };
  conn.password = new (conn.password!.constructor as new (v: string, s: string) => typeof conn.password & object)('wrong-password', 'test');
  const producer = createKafka(conn, logger).producer();
  const err = await producer.connect().then(() => undefined, (e: unknown) => e);
  assert.ok(err, 'connect must fail');
  const explained = explainKafkaError(err, conn);
  assert.equal(explained.reason, 'auth');
  assert.match(explained.message, /refused user "agent".*password file/);
});

test('a plain (non-TLS) client on EXTERNAL is refused with a clear error', async () => {
  const conn = { ...broker.connection('agent', 'external'), security: 'sasl_plaintext' as const, connectionTimeoutMs: 3000, requestTimeoutMs: 5000, retry: { retries: 0, initialRetryTimeMs: 100, maxRetryTimeMs: 100 } };
  const producer = createKafka(conn, logger).producer();
  const err = await producer.connect().then(() => undefined, (e: unknown) => e);
  assert.ok(err, 'a plaintext connection to the TLS listener must fail');
  const explained = explainKafkaError(err, conn);
  assert.equal(explained.reason, 'not-tls', explained.message);
  assert.match(explained.message, /TLS \(EXTERNAL\) listener/);
});

test('an unauthenticated client gets nothing on either listener', async () => {
  const conn = { ...broker.connection('agent', 'internal'), security: 'plaintext' as const, connectionTimeoutMs: 3000, requestTimeoutMs: 5000, retry: { retries: 0, initialRetryTimeMs: 100, maxRetryTimeMs: 100 } };
  const admin = createKafka(conn, logger).admin();
  const err = await admin.connect().then(() => admin.listTopics()).then(() => undefined, (e: unknown) => e);
  await admin.disconnect().catch(() => {});
  assert.ok(err, 'no SASL means no access');
});

after(() => {});
