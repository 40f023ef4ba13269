// The demo setting, before and after tracking: the real service on 3 cameras
// x 10 fps of vtest.mp4 (bench/inference.mjs's frameline run), once with the
// person detector on every frame (model.detectEvery 1) and once with the
// defaults (tracking). node bench/tracking-service.mjs  (BENCH_INFERENCE_SECONDS, default 40;
// BENCH_TRACKING_ROWS=tracking runs the tracking row only)
import { join } from 'node:path';
import { ROOT, build, ensureNodeModules, kafka, kafkaRunning } from '../scripts/lib.mjs';
import { createLogger } from '@frameline/shared';

ensureNodeModules();
build();
const { BENCH_KAFKA_ENV: env, freshTopics: freshTopicsOf } = await import('./topics.mjs');
const started = !kafkaRunning(env);
kafka(['up'], env);
const { readClientProperties } = await import('../deploy/kafka/provision.mjs');
const { benchFrameline, extractFrames } = await import('./inference.mjs');
const props = readClientProperties(join(env.FRAMELINE_KAFKA_DIR, 'client.properties'));
const seconds = Number(process.env.BENCH_INFERENCE_SECONDS ?? 40);
const logger = createLogger({ level: 'error' });

const freshTopics = (prefix) => freshTopicsOf(props, prefix);

const rows = [];
try {
  const jpegs = await extractFrames(ROOT);
  const only = process.env.BENCH_TRACKING_ROWS;
  for (const [name, detectEvery] of [['detector on every frame', '1'], ['tracking (defaults)', undefined]]) {
    if (only && !name.startsWith(only)) continue;
    if (detectEvery) process.env.FRAMELINE_CLOUD_MODEL_DETECT_EVERY = detectEvery;
    else delete process.env.FRAMELINE_CLOUD_MODEL_DETECT_EVERY;
    const r = await benchFrameline({ root: ROOT, props, topics: await freshTopics('bench-tracking'), jpegs, seconds, logger });
    rows.push({ name, r });
  }
} finally {
  if (started) kafka(['down'], env);
}
const fps = (v) => v.toFixed(2);
console.log(`\n3 cameras x 10 fps of 768x576 vtest.mp4, ${seconds} s each, real service (BlazePose full, multi detector)`);
for (const { name, r } of rows) {
  console.log(`${name.padEnd(26)} inferred ${fps(r.framesPerSec)} frames/s (per camera ${Object.values(r.perCameraFramesPerSec).map(fps).join(', ')}), ` +
    `capture-to-result p50 ${r.latencyAllMs.p50?.toFixed(0)} ms p95 ${r.latencyAllMs.p95?.toFixed(0)} ms, ${r.personsPerFrame?.toFixed(2)} persons/frame`);
  const t = r.serviceTimingsMs;
  console.log(`${''.padEnd(26)} service CPU ${r.cpuMsPerInferredFrame.toFixed(0)} ms per inferred frame (${(r.cpuMsPerInferredFrame * r.framesPerSec / 1000).toFixed(2)} cores), mean batch ${r.meanBatch.toFixed(2)}; p50 decode ${t.decodeMs.p50} detect ${t.detectMs.p50} landmarks ${t.landmarksMs.p50} infer ${t.inferMs.p50} wait ${t.waitMs.p50} ms; skipped ${JSON.stringify(r.skippedByReason)}; tracking ${JSON.stringify(r.tracking)}`);
}
if (rows.length === 2) console.log(`ratio (tracking / every frame): ${(rows[1].r.framesPerSec / rows[0].r.framesPerSec).toFixed(2)}x inferred frames/s`);
process.exit(0);
