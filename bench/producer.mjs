// Producer throughput of a burst of real 720p JPEG frames over the EXTERNAL
// listener (TLS + SCRAM, acks=all): frameline's reliable delivery (the path a
// spool backlog drains through after an outage) against kcat and Kafka's own
// ProducerPerformance, run in the same invocation against the same broker.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { Secret, createLogger } from '@frameline/shared';
import { createDelivery } from '../agent/dist/src/delivery/index.js';

const run = promisify(execFile);

export async function makeFrames(root, count) {
  // Real video frames, upscaled to 720p: what a Pi camera at 1280x720 sends.
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-frames-'));
  await run('ffmpeg', ['-loglevel', 'error', '-i', join(root, 'agent/test/fixtures/vtest.mp4'), '-vf', 'fps=5,scale=1280:720', '-frames:v', '40', '-q:v', '4', join(dir, 'f-%03d.jpg')]);
  const files = Array.from({ length: 40 }, (_, i) => join(dir, `f-${String(i + 1).padStart(3, '0')}.jpg`));
  const frames = files.map((f) => readFileSync(f));
  return { dir, files: Array.from({ length: count }, (_, i) => files[i % files.length]), frames: Array.from({ length: count }, (_, i) => frames[i % frames.length]) };
}

function connection(props, clientId) {
  return {
    brokers: [props['bootstrap.external']], clientId, security: 'sasl_ssl', username: 'agent',
    password: new Secret(readFileSync(props['sasl.agent.password.file'], 'utf8').trim(), props['sasl.agent.password.file']),
    caFile: props['ssl.ca'],
  };
}

async function framelineReliable(props, topics, frames, root) {
  const logger = createLogger({ level: 'error' });
  const delivery = createDelivery({
    mode: 'reliable', backfill: 'inline', topics, partitioning: 'key', kafka: connection(props, 'bench-frameline'),
    spool: { dir: mkdtempSync(join(tmpdir(), 'fl-bench-spool-')), fsync: 'interval' },
    queue: { maxFrames: frames.length, maxBytes: 1 << 30 },
  }, { logger });
  await delivery.start();
  while (delivery.status().broker !== 'connected') await new Promise((r) => setTimeout(r, 50));
  const started = performance.now();
  frames.forEach((jpeg, seq) => delivery.submit({ camera: 'CAMERA-1', run: 'bench', seq, capturedAt: Date.now(), width: 1280, height: 720, jpeg }));
  while (delivery.status().acked < frames.length) await new Promise((r) => setTimeout(r, 5));
  const seconds = (performance.now() - started) / 1000;
  await delivery.stop();
  return seconds;
}

function kcatConfig(props) {
  const file = join(mkdtempSync(join(tmpdir(), 'fl-bench-kcat-')), 'kcat.conf');
  writeFileSync(file, [
    `bootstrap.servers=${props['bootstrap.external']}`, 'security.protocol=SASL_SSL', 'sasl.mechanisms=SCRAM-SHA-512',
    'sasl.username=agent', `sasl.password=${readFileSync(props['sasl.agent.password.file'], 'utf8').trim()}`,
    `ssl.ca.location=${props['ssl.ca']}`, 'acks=all', 'enable.idempotence=true', 'message.max.bytes=1000000',
  ].join('\n'), { mode: 0o600 });
  return file;
}

async function kcat(props, topic, files) {
  const conf = kcatConfig(props);
  const started = performance.now();
  // One message per file argument; -k keys them like our frames.
  await run('kcat', ['-F', conf, '-P', '-t', topic, '-k', 'CAMERA-1', '-X', 'partitioner=murmur2_random', ...files], { maxBuffer: 1 << 24 });
  return (performance.now() - started) / 1000;
}

async function producerPerformance(props, root, topic, count, recordSize) {
  const conf = join(mkdtempSync(join(tmpdir(), 'fl-bench-pp-')), 'producer.properties');
  writeFileSync(conf, [
    `bootstrap.servers=${props['bootstrap.external']}`, 'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512',
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="agent" password="${readFileSync(props['sasl.agent.password.file'], 'utf8').trim()}";`,
    'ssl.truststore.type=PEM', `ssl.truststore.location=${props['ssl.ca']}`, 'acks=all', 'enable.idempotence=true', 'max.request.size=2000000',
  ].join('\n'), { mode: 0o600 });
  const libs = join(root, '.cache/kafka-dist/3.9.2/libs/*');
  const { stdout } = await run('java', ['-Xmx512m', '-cp', libs, 'org.apache.kafka.tools.ProducerPerformance', '--topic', topic,
    '--num-records', String(count), '--record-size', String(recordSize), '--throughput', '-1', '--producer.config', conf], { maxBuffer: 1 << 22 });
  // "N records sent, X records/sec (Y MB/sec), ..." — the tool's own timing, excluding JVM start
  const m = /(\d+) records sent, ([\d.]+) records\/sec/.exec(stdout);
  return count / Number(m[2]);
}

export async function benchProducer({ root, props, topics, count }) {
  const { files, frames } = await makeFrames(root, count);
  const bytes = frames.reduce((n, f) => n + f.length, 0);
  const avg = Math.round(bytes / frames.length);
  const rows = [];
  const add = (name, seconds) => rows.push({ name, seconds, framesPerSec: count / seconds, mbPerSec: bytes / 2 ** 20 / seconds });
  add('frameline reliable delivery (kafkajs, acks=all, idempotent)', await framelineReliable(props, { frames: topics.frames, backfill: topics.backfill }, frames, root));
  add('kcat 1.7.1 / librdkafka 2.0.2 (acks=all, idempotent)', await kcat(props, topics.frames, files));
  add(`Kafka ProducerPerformance 3.9.2 (acks=all, ${avg}-byte records)`, await producerPerformance(props, root, topics.frames, count, avg));
  return { count, avgFrameBytes: avg, rows };
}
