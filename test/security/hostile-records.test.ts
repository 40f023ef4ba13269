// Hostile records written with kcat (librdkafka, as any foreign producer
// would) to the real broker, read by the real `frameline-cloud run`: each
// either decodes correctly or lands in the DLQ with a precise code, the
// service keeps serving, its memory stays bounded, and its log lines carry
// plain data only. Cost: about 30-60 s (the 16000×16000 JPEG is made once
// per checkout under .cache/, which takes up to a minute the first time).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TopicSet } from '@frameline/shared';
import { sharedBroker, type TestBroker } from '@frameline/shared/testing';
import { pixelBombJpeg, solidJpeg } from '@frameline/shared/testing/jpegs';
import { cloudConfigFile, startCloud, type CloudProcess } from './cloud-process.js';

const run = promisify(execFile);
let broker: TestBroker;
let topics: TopicSet;
let cloud: CloudProcess;
let kcatConf: string;
const dir = mkdtempSync(join(tmpdir(), 'fl-hostile-'));

before(async () => {
  broker = await sharedBroker();
  topics = await broker.topics('hostile', 1);
  kcatConf = broker.kcatConfig('agent', 'external');
  cloud = startCloud(['run', '--config', cloudConfigFile(broker, topics)]);
  await cloud.waitForLine(/consuming/);
});

after(async () => {
  await cloud?.stop();
});

type Header = [string, string | Buffer];

/** Shell word for bash: raw bytes as $'\xNN', so header values need not be UTF-8. */
const word = (v: string | Buffer) => `$'${[...(typeof v === 'string' ? Buffer.from(v) : v)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join('')}'`;

/** One record per call, produced by kcat as the agent user over EXTERNAL (TLS + SCRAM). */
async function kcat(value: Buffer | null, key: string, headers: Header[]): Promise<void> {
  const h = headers.map(([k, v]) => `-H ${word(Buffer.concat([Buffer.from(`${k}=`), typeof v === 'string' ? Buffer.from(v) : v]))}`).join(' ');
  const base = `kcat -F ${kcatConf} -P -t ${topics.frames} -p 0 -X message.max.bytes=33554432 ${h}`;
  if (value === null || value.length === 0) {
    // kcat skips empty files; key:value lines with an empty value make 0-byte (or, with -Z, null) values.
    await run('bash', ['-c', `printf '%s:\\n' ${word(key)} | ${base} -K: ${value === null ? '-Z' : ''}`]);
    return;
  }
  const file = join(dir, `${randomUUID()}.bin`);
  writeFileSync(file, value);
  await run('bash', ['-c', `${base} -k ${word(key)} ${file}`]);
}

function frameHeaders(camera: string, width: number, height: number, over: Header[] = []): Header[] {
  const base: Header[] = [
    ['content-type', 'image/jpeg'], ['fl-schema', '1'], ['fl-camera', camera], ['fl-run', randomUUID()], ['fl-seq', '0'],
    ['fl-captured-at', String(Date.now())], ['fl-width', String(width)], ['fl-height', String(height)],
  ];
  const names = new Set(over.map(([k]) => k));
  return [...base.filter(([k]) => !names.has(k)), ...over];
}

interface Case {
  name: string;
  key: string;
  value: Buffer | null;
  headers: Header[];
  /** DLQ fl-error code, or `result` for a frame that must be inferred (under camera `camera`). */
  expect: string;
  camera?: string;
}

test('hostile records: each decodes correctly or lands in the DLQ with a precise code; the service keeps serving', async () => {
  const good = await solidJpeg(768, 576, '#557799');
  const bomb = await pixelBombJpeg();
  // Marker structure intact, Huffman table emptied: passes every header check, fails in the decoder
  // (the worker path, whose DLQ warning once printed a function's source).
  const undecodable = Buffer.from(good);
  const dht = undecodable.indexOf(Buffer.from([0xff, 0xc4]));
  undecodable.fill(0, dht + 5, dht + 2 + undecodable.readUInt16BE(dht + 2));
  const cases: Case[] = [
    { name: 'random-bytes', key: 'CAM-RANDOM', value: randomBytes(64 * 1024), headers: frameHeaders('CAM-RANDOM', 768, 576), expect: 'not-jpeg' },
    { name: 'truncated', key: 'CAM-TRUNC', value: good.subarray(0, good.length >> 1), headers: frameHeaders('CAM-TRUNC', 768, 576), expect: 'truncated-jpeg' },
    { name: 'zero-bytes', key: 'CAM-EMPTY', value: Buffer.alloc(0), headers: frameHeaders('CAM-EMPTY', 768, 576), expect: 'empty-value' },
    { name: 'null-value', key: 'CAM-NULL', value: null, headers: frameHeaders('CAM-NULL', 768, 576), expect: 'empty-value' },
    { name: '20MB', key: 'CAM-BIG', value: Buffer.concat([good, randomBytes(20 << 20)]), headers: frameHeaders('CAM-BIG', 768, 576), expect: 'oversized-value' },
    { name: 'undecodable', key: 'CAM-UNDEC', value: undecodable, headers: frameHeaders('CAM-UNDEC', 768, 576), expect: 'undecodable-jpeg' },
    { name: 'pixel-bomb', key: 'CAM-BOMB', value: bomb, headers: frameHeaders('CAM-BOMB', 16000, 16000), expect: 'too-many-pixels' },
    { name: 'padded-after-eoi', key: 'CAM-PAD', value: Buffer.concat([good, Buffer.alloc(64)]), headers: frameHeaders('CAM-PAD', 768, 576), expect: 'result', camera: 'CAM-PAD' },
    { name: 'camera-not-utf8', key: 'CAM-UTF', value: good, headers: frameHeaders('x', 768, 576, [['fl-camera', Buffer.from([0xff, 0xfe, 0x41])]]), expect: 'bad-camera-id' },
    { name: 'seq-not-utf8', key: 'CAM-SEQ', value: good, headers: frameHeaders('CAM-SEQ', 768, 576, [['fl-seq', Buffer.from([0xc3, 0x28])]]), expect: 'bad-header' },
    { name: 'run-not-utf8', key: 'CAM-RUN', value: good, headers: frameHeaders('CAM-RUN', 768, 576, [['fl-run', Buffer.from([0xe2, 0x82])]]), expect: 'bad-header' },
    // Duplicate header keys: the last one wins (as Java's Headers.lastHeader), documented in DESIGN.md.
    { name: 'duplicate-camera', key: 'CAM-DUP', value: good, headers: [...frameHeaders('CAM-DUP-FIRST', 768, 576), ['fl-camera', 'CAM-DUP-LAST']], expect: 'result', camera: 'CAM-DUP-LAST' },
    { name: 'camera-traversal', key: 'FIELD/../../etc', value: good, headers: frameHeaders('FIELD/../../etc', 768, 576), expect: 'bad-camera-id' },
    { name: 'camera-3000-chars', key: 'CAM-LONG', value: good, headers: frameHeaders('C'.repeat(3000), 768, 576), expect: 'bad-camera-id' },
    { name: 'schema-2', key: 'CAM-SCHEMA', value: good, headers: frameHeaders('CAM-SCHEMA', 768, 576, [['fl-schema', '2']]), expect: 'unsupported-schema' },
    { name: 'still-serving', key: 'CAM-AFTER', value: good, headers: frameHeaders('CAM-AFTER', 768, 576), expect: 'result', camera: 'CAM-AFTER' },
  ];
  for (const c of cases) await kcat(c.value, c.key, [...c.headers, ['test-case', c.name]]);

  const dlqCases = cases.filter((c) => c.expect !== 'result');
  const resultCases = cases.filter((c) => c.expect === 'result');
  const [dlq, results] = await Promise.all([
    broker.readRecords(topics.dlq, { count: dlqCases.length, timeoutMs: 60_000, settleMs: 1000 }),
    broker.readRecords(topics.inferences, { count: resultCases.length, timeoutMs: 60_000, settleMs: 1000 }),
  ]);
  const dlqByCase = new Map(dlq.map(({ message }) => [String(message.headers?.['test-case']), String(message.headers?.['fl-error'])]));
  const table = cases.map((c) => {
    const got = c.expect === 'result'
      ? (results.some(({ message }) => JSON.parse(String(message.value)).camera === c.camera) ? 'result' : 'none')
      : (dlqByCase.get(c.name)?.split(':')[0] ?? 'none');
    return { case: c.name, expected: c.expect, got, detail: (dlqByCase.get(c.name) ?? '').slice(0, 90) };
  });
  console.table(table);
  for (const row of table) assert.equal(row.got, row.expected, `${row.case}: ${row.detail}`);
  const dlqNames = dlq.map(({ message }) => String(message.headers?.['test-case']));
  // At least once: a rebalance may dead-letter a record twice; never a good one.
  console.log(`DLQ records: ${dlq.length} for ${dlqCases.length} bad records (${dlq.length - dlqCases.length} duplicates)`);
  assert.deepEqual([...new Set(dlqNames)].sort(), dlqCases.map((c) => c.name).sort(), 'exactly the bad records are dead-lettered');

  // The DLQ keeps the original bytes, so the record can be examined or replayed.
  const big = dlq.find(({ message }) => String(message.headers?.['test-case']) === '20MB')!;
  assert.equal(big.message.value?.length, cases.find((c) => c.name === '20MB')!.value!.length);

  const base = await cloud.baseUrl();
  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /frameline_frames_dlq_total\{code="too-many-pixels"\} 1/);
  assert.doesNotMatch(metrics, /FIELD|CCCCCCCC/, 'no hostile id became a label value');
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200, await health.text());

  const peak = cloud.peakRss();
  console.log(`cloud peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB after ${cases.length} hostile records`);
  // Decoding the bomb alone would take 768 MiB of RGB; a 20 MB record a few copies of 20 MB.
  assert.ok(peak < 600 * 2 ** 20, `peak RSS ${peak} bytes`);

  const logLines = cloud.lines.filter((l) => /\[cloud\/dlq\]/.test(l));
  assert.ok(logLines.length >= dlqCases.length, logLines.join('\n'));
  for (const line of cloud.lines) {
    assert.doesNotMatch(line, /=>|function|complete=/, `log lines carry plain data: ${line.slice(0, 300)}`);
    assert.ok(line.length < 4000, `a log line of ${line.length} chars`);
  }
});
