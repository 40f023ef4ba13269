// One agent's publish path in its own process, so /proc gives its CPU and peak
// RSS alone: reads the bench's JPEG files, optionally runs them through the
// agent's pipeline (motion gate, resize), submits every frame to the real
// delivery stage as fast as it takes them, and waits until all are acked.
// Prints one JSON line: { sendSeconds, sendStart, sendEnd (epoch ms), cpuSeconds
// (utime + stime of the send phase), acked, passed, dropped }.
//   node bench/frameline-send.mjs '<json: { mode, listener, camera, files, props, pipeline? }>'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Secret, createLogger } from '@frameline/shared';
import { createDelivery } from '../agent/dist/src/delivery/index.js';
import { createPipeline } from '../agent/dist/src/pipeline/index.js';

const args = JSON.parse(process.argv[2]);
const props = args.props;
const frames = args.files.map((f) => readFileSync(f));
const external = args.listener === 'external';
const passwordFile = props['sasl.agent.password.file'];
const logger = createLogger({ level: 'error' });
const spoolDir = mkdtempSync(join(tmpdir(), 'fl-bench-spool-'));
const delivery = createDelivery({
  mode: args.mode, backfill: 'inline', topics: args.topics, partitioning: 'key',
  kafka: {
    brokers: [props[`bootstrap.${args.listener}`]], clientId: `bench-${args.camera}`, username: 'agent',
    security: external ? 'sasl_ssl' : 'sasl_plaintext', caFile: external ? props['ssl.ca'] : '',
    password: new Secret(readFileSync(passwordFile, 'utf8').trim(), passwordFile),
  },
  spool: args.mode === 'reliable' ? { dir: spoolDir, fsync: 'interval' } : undefined,
  // The whole burst fits: this measures the send path, not the queue's drop policy.
  queue: { maxFrames: frames.length, maxBytes: 1 << 30 },
  maxBatchBytes: args.maxBatchBytes,
}, { logger });

await delivery.start();
while (delivery.status().broker !== 'connected') await new Promise((r) => setTimeout(r, 20));
// CPU of the send phase alone (not node's start and module loading): utime + stime from /proc, in clock ticks of 1/100 s.
const cpuTicks = () => readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ').slice(11, 13).reduce((s, x) => s + Number(x), 0);
// With args.cpuProfile: a V8 CPU profile of the send phase alone, written there.
const session = args.cpuProfile ? new Session() : undefined;
const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
if (session) {
  session.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
}
const cpu0 = cpuTicks();
const sendStart = Date.now();
const started = performance.now();
let seq = 0;
let passed = frames.length;
const submit = (f) => delivery.submit({ camera: args.camera, run: 'bench', seq: seq++, capturedAt: f.capturedAt, width: f.width, height: f.height, jpeg: f.jpeg });
if (args.pipeline) {
  // Capture times 1/15 s apart, as a 15 fps camera stamps them (the motion gate's keep-alive reads them).
  const t0 = Date.now();
  const pipeline = createPipeline({ ...args.pipeline, waitingFrames: frames.length }, logger);
  async function* source() {
    for (let i = 0; i < frames.length; i++) yield { jpeg: frames[i], capturedAt: t0 + Math.round((i * 1000) / 15), width: 1280, height: 720 };
  }
  for await (const ready of pipeline.run(source())) submit(ready);
  passed = pipeline.stats().passed;
} else {
  const now = Date.now();
  for (const jpeg of frames) submit({ jpeg, capturedAt: now, width: 1280, height: 720 });
}
while (delivery.status().acked < passed) await new Promise((r) => setTimeout(r, 5));
const sendSeconds = (performance.now() - started) / 1000;
const sendEnd = Date.now();
const cpuSeconds = (cpuTicks() - cpu0) / 100;
if (session) writeFileSync(args.cpuProfile, JSON.stringify((await post('Profiler.stop')).profile));
const status = delivery.status();
await delivery.stop();
rmSync(spoolDir, { recursive: true, force: true });
console.log(JSON.stringify({ sendSeconds, sendStart, sendEnd, cpuSeconds, acked: status.acked, passed, dropped: status.dropped }));
process.exit(0);
