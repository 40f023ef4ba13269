// Alerts reach video.alerts once per event, also when the service is killed
// (SIGKILL) in the middle of the event and a new one takes over: the new
// instance rebuilds tracks and open events from the results it reads back
// and knows the alert keys already published. Real broker, the real CLI as
// a child process, real onnxruntime running a tiny keypoint model built here
// (one person standing still whose score is the frame's brightness, so a
// test can make the person appear and disappear), real JPEG frames.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { createKafka, createLogger, encodeFrame, partitionFor } from '@frameline/shared';
import { REPO_ROOT, sharedBroker } from '@frameline/shared/testing';
import { DataType, encodeModel } from '@frameline/onnx-convert';
import { freePort, waitFor } from './support.js';
import type { AlertRecord, InferenceRecord } from '../src/service.js';

const logger = createLogger({ level: 'error', scope: 'test' });
const BIN = join(REPO_ROOT, 'cloud/bin/frameline-cloud.js');
const SIZE = 32;
/** A standing person in COCO-17 order, (y, x) as fractions of the model input. */
const STANDING: [number, number][] = [
  [0.2, 0.5], [0.18, 0.48], [0.18, 0.52], [0.19, 0.46], [0.19, 0.54], [0.3, 0.44], [0.3, 0.56], [0.42, 0.42], [0.42, 0.58],
  [0.52, 0.41], [0.52, 0.59], [0.55, 0.47], [0.55, 0.53], [0.72, 0.47], [0.72, 0.53], [0.88, 0.47], [0.88, 0.53],
];
const floats = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);

/** MoveNet-shaped output [N,1,17,3]: the fixed pose, every score = mean input pixel (0..1). */
function standingPersonModel(): Uint8Array {
  return encodeModel({
    graphName: 'standing_person', opset: 13, producer: 'frameline-test', docString: 'fixed standing pose, score = brightness',
    inputs: [{ name: 'image', elemType: DataType.FLOAT, dims: ['batch', 3, SIZE, SIZE] }],
    outputs: [{ name: 'keypoints', elemType: DataType.FLOAT, dims: ['batch', 1, 17, 3] }],
    initializers: [
      { name: 'pose', dataType: DataType.FLOAT, dims: [1, 1, 17, 3], raw: floats(STANDING.flatMap(([y, x]) => [y, x, 0])) },
      { name: 'score_mask', dataType: DataType.FLOAT, dims: [1, 1, 1, 3], raw: floats([0, 0, 1]) },
    ],
    nodes: [
      { op: 'ReduceMean', inputs: ['image'], outputs: ['mean'], name: 'mean', attrs: { axes: [1, 2, 3], keepdims: 1 } },
      { op: 'Mul', inputs: ['mean', 'score_mask'], outputs: ['score'], name: 'score' },
      { op: 'Add', inputs: ['pose', 'score'], outputs: ['keypoints'], name: 'out' },
    ],
  });
}

async function metricText(port: number): Promise<string> {
  return (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

test('a zone event spanning a SIGKILL and restart of the service gives one alert; the next event gives a second', { timeout: 180_000 }, async (t) => {
  const broker = await sharedBroker();
  const topics = await broker.topics('alerts-restart');
  const p = broker.props;
  const dir = mkdtempSync(join(tmpdir(), 'fl-alerts-'));
  const modelPath = join(dir, 'standing.onnx');
  writeFileSync(modelPath, standingPersonModel());
  const port = await freePort();
  const camera = 'CAMERA-1';
  const configFile = join(dir, 'cloud.json');
  writeFileSync(configFile, JSON.stringify({
    kafka: { brokers: p['bootstrap.internal'], username: p['sasl.cloud.username'], passwordFile: p['sasl.cloud.password.file'], groupId: `frameline-test-${randomUUID().slice(0, 8)}`, sessionTimeout: '6s' },
    topics,
    ingest: { commitInterval: '200ms' },
    scheduler: { workers: 1, maxLagMs: '60s' },
    model: { kind: 'onnx-keypoints', path: modelPath, input: { width: SIZE, height: SIZE, layout: 'NCHW', normalisation: { scale: 1 / 255, offset: 0 }, resize: 'stretch' }, decode: { kind: 'movenet-singlepose', minScore: 0.3 } },
    analysis: {
      tracker: { maxMissed: '1s' },
      // frame 0 waits for the first service to start, which takes long on a busy machine: replay all of it
      replay: '10m',
      hysteresis: { hold: '1500ms' },
      zones: [{ camera, name: 'lower half', polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]], dwell: '1s' }],
    },
    http: { listen: `127.0.0.1:${port}` },
    log: { level: 'warn' },
  }));
  const start = (): ChildProcess => spawn(process.execPath, [BIN, 'run', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });

  const frame = (value: number) => sharp({ create: { width: 160, height: 120, channels: 3, background: { r: value, g: value, b: value } } }).jpeg().toBuffer();
  const [bright, dark] = await Promise.all([frame(220), frame(20)]);
  const run = randomUUID();
  const partition = partitionFor(camera, 3, 'key');
  const kafka = createKafka(broker.connection('cloud', 'internal'), logger);
  const producer = createKafka(broker.connection('agent', 'external'), logger).producer();
  const reader = kafka.consumer({ groupId: `frameline-test-read-${randomUUID().slice(0, 8)}` });
  const results = new Map<number, InferenceRecord>();
  const alerts: AlertRecord[] = [];
  await Promise.all([producer.connect(), reader.connect()]);
  await reader.subscribe({ topics: [topics.inferences, topics.alerts], fromBeginning: true });
  await reader.run({
    eachMessage: async ({ topic, message }) => {
      const value = JSON.parse(message.value!.toString());
      if (topic === topics.alerts) alerts.push(value as AlertRecord);
      else results.set((value as InferenceRecord).seq, value as InferenceRecord);
    },
  });
  let seq = 0;
  /** One frame at a time, 200 ms apart, each waiting for its result. */
  const play = async (jpeg: Buffer, count: number) => {
    for (let i = 0; i < count; i++, seq++) {
      const sentAt = Date.now();
      await producer.send({ topic: topics.frames, acks: -1, messages: [{ ...encodeFrame({ camera, run, seq, capturedAt: sentAt, width: 160, height: 120, jpeg }), partition }] });
      const s = seq;
      await waitFor(`result of frame ${s}`, () => results.has(s), 90_000);
      await new Promise((r) => setTimeout(r, Math.max(0, 200 - (Date.now() - sentAt))));
    }
  };

  let service: ChildProcess | undefined = start();
  try {
    await play(bright, 8); // 1.4 s in the zone: past the 1 s dwell
    await waitFor('the first alert', () => alerts.length >= 1, 10_000);
    const first = alerts[0]!;
    assert.equal(first.kind, 'zone');
    assert.equal(first.label, 'lower half');
    assert.equal(results.get(first.endSeq)!.persons[0]!.track, first.tracks[0], 'the alert names the track carried in video.inferences');
    assert.ok(Buffer.from(first.snapshot!.base64, 'base64').subarray(0, 2).equals(Buffer.from([0xff, 0xd8])), 'the snapshot is a JPEG');
    await play(bright, 3);
    service.kill('SIGKILL'); // mid-event: the person is still in the zone
    await new Promise((r) => service!.once('exit', r));
    service = start();
    await play(bright, 12); // 2.4 s more in the zone, handled by the new instance
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(alerts.length, 1, `the event spanning the restart was alerted once, got ${JSON.stringify(alerts.map((a) => [a.key, a.startSeq, a.endSeq]))}`);
    const tracks = new Set([...results.values()].filter((r) => r.seq < seq).map((r) => r.persons[0]?.track));
    const bySeq = [...results.values()].filter((r) => r.seq < seq).map((r) => `${r.seq}:${r.persons.map((x) => x.track).join('+') || '-'}`).join(' ');
    assert.deepEqual([...tracks], [first.tracks[0]], `the new instance continued the track (seq:track ${bySeq})`);

    await play(dark, 12); // nobody for 2.4 s: the event ends
    await play(bright, 8); // someone again: a new event
    await waitFor('the second alert', () => alerts.length >= 2, 10_000);
    await new Promise((r) => setTimeout(r, 1000));
    t.diagnostic(`alerts: ${alerts.map((a) => `${a.kind} track ${a.tracks} seqs ${a.startSeq}-${a.endSeq} key ${a.key} snapshot ${a.snapshot ? Buffer.from(a.snapshot.base64, 'base64').length : 0} B`).join('; ')}`);
    assert.equal(alerts.length, 2);
    assert.notEqual(alerts[1]!.key, first.key);
    assert.notEqual(alerts[1]!.tracks[0], first.tracks[0]);
    assert.match(await metricText(port), /frameline_alerts_total\{kind="zone"\} 1\b/, 'the second instance published one alert');
  } finally {
    service?.kill('SIGKILL');
    await Promise.all([producer.disconnect(), reader.disconnect()]);
  }
});
