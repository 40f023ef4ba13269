// Stage-one demo traffic: three cameras' worth of real JPEG frames produced
// over EXTERNAL (TLS + SCRAM, as the agent user) and read back over INTERNAL
// (as the cloud user), printing each camera's sequence as it arrives.
// Replaced by real agents and the cloud service once those exist.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { Secret, createKafka, createLogger, decodeFrame, encodeFrame, partitionFor } from '@frameline/shared';

const props = Object.fromEntries(
  readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
const logger = createLogger({ scope: 'demo' });
const conn = (user, listener) => ({
  brokers: [props[`bootstrap.${listener}`]],
  clientId: `demo-${user}`,
  security: listener === 'external' ? 'sasl_ssl' : 'sasl_plaintext',
  username: user,
  password: new Secret(readFileSync(props[`sasl.${user}.password.file`], 'utf8').trim(), props[`sasl.${user}.password.file`]),
  caFile: props['ssl.ca'],
});

async function jpeg(camera, seq) {
  const svg = `<svg width="320" height="240"><rect width="320" height="240" fill="#203040"/>
    <text x="20" y="120" font-size="28" fill="white">${camera} #${seq}</text></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
}

const producer = createKafka(conn('agent', 'external'), logger).producer({ idempotent: true, maxInFlightRequests: 1 });
const consumer = createKafka(conn('cloud', 'internal'), logger).consumer({ groupId: `frameline-demo-${randomUUID().slice(0, 8)}` });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topic: 'video.frames', fromBeginning: false });
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    const f = decodeFrame({ ...message, value: message.value }, { maxBytes: 32 << 20 });
    const age = Date.now() - f.capturedAt;
    logger.info('frame consumed over INTERNAL', { camera: f.camera, seq: f.seq, partition, bytes: f.jpeg.length, ageMs: Math.round(age) });
  },
});

const cameras = ['CAMERA-1', 'CAMERA-2', 'CAMERA-3'].map((camera) => ({ camera, run: randomUUID(), seq: 0 }));
let stopping = false;
const timer = setInterval(async () => {
  if (stopping) return;
  const messages = [];
  for (const c of cameras) {
    const frame = { camera: c.camera, run: c.run, seq: c.seq++, capturedAt: Date.now(), width: 320, height: 240, jpeg: await jpeg(c.camera, c.seq) };
    messages.push({ ...encodeFrame(frame), partition: partitionFor(c.camera, 3, 'camera-index') });
  }
  await producer.send({ topic: 'video.frames', acks: -1, messages }).catch((err) => logger.warn('send failed', { error: err.message }));
}, 1000);

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, async () => {
    stopping = true;
    clearInterval(timer);
    await Promise.allSettled([producer.disconnect(), consumer.disconnect()]);
    process.exit(0);
  });
}
