// The demo setting, before and after tracking: the real service on 3 cameras
// x 10 fps of vtest.mp4 (bench/inference.mjs's frameline run), once with the
// person detector on every frame (model.detectEvery 1) and once with the
// defaults (tracking). Also the tracking part of `npm run bench`.
//   node bench/tracking-service.mjs  (BENCH_INFERENCE_SECONDS, default 40;
//   BENCH_TRACKING_ROWS=tracking runs the tracking row only)
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';

const fps = (v) => v.toFixed(2);

/**
 * Runs both rows on the broker of `props` (fresh topics from `freshTopics(prefix)`),
 * `seconds` of playing each. Resolves to { seconds, rows: [{ name, detectEvery, r }]
 * (r: benchFrameline's result), ratio (tracking ÷ every frame, inferred frames/s), lines }.
 */
export async function benchTrackingService({ root, props, freshTopics, seconds = 40, only }) {
  const { benchFrameline, extractFrames } = await import('./inference.mjs');
  const logger = createLogger({ level: 'error' });
  const jpegs = await extractFrames(root);
  const rows = [];
  for (const [name, detectEvery] of [['detector on every frame', 1], ['tracking (defaults)', undefined]]) {
    if (only && !name.startsWith(only)) continue;
    const r = await benchFrameline({ root, props, topics: await freshTopics('bench-tracking'), jpegs, seconds, logger, model: detectEvery ? { detectEvery } : {} });
    rows.push({ name, detectEvery: detectEvery ?? 'default', r: { ...r, exit: undefined } });
  }
  const lines = [`3 cameras x 10 fps of 768x576 vtest.mp4, ${seconds} s each, real service (BlazePose full, multi detector, maxLagMs 1 s)`];
  for (const { name, r } of rows) {
    lines.push(`${name.padEnd(26)} inferred ${fps(r.framesPerSec)} frames/s (per camera ${Object.values(r.perCameraFramesPerSec).map(fps).join(', ')}), ` +
      `capture-to-result p50 ${r.latencyAllMs.p50?.toFixed(0)} ms p95 ${r.latencyAllMs.p95?.toFixed(0)} ms, ${r.personsPerFrame?.toFixed(2)} persons/frame`);
    const t = r.serviceTimingsMs;
    lines.push(`${''.padEnd(26)} service CPU ${r.cpuMsPerInferredFrame.toFixed(0)} ms per inferred frame (${(r.cpuMsPerInferredFrame * r.framesPerSec / 1000).toFixed(2)} cores), mean batch ${r.meanBatch.toFixed(2)}; p50 decode ${t.decodeMs.p50} detect ${t.detectMs.p50} landmarks ${t.landmarksMs.p50} infer ${t.inferMs.p50} wait ${t.waitMs.p50} ms; skipped ${JSON.stringify(r.skippedByReason)}; tracking ${JSON.stringify(r.tracking)}`);
  }
  const ratio = rows.length === 2 ? rows[1].r.framesPerSec / rows[0].r.framesPerSec : null;
  if (ratio !== null) lines.push(`ratio (tracking / every frame): ${ratio.toFixed(2)}x inferred frames/s`);
  return { seconds, rows, ratio, lines };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ROOT, build, ensureNodeModules, kafka, kafkaRunning } = await import('../scripts/lib.mjs');
  ensureNodeModules();
  build();
  const { BENCH_KAFKA_ENV: env, freshTopics } = await import('./topics.mjs');
  const started = !kafkaRunning(env);
  kafka(['up'], env);
  const { readClientProperties } = await import('../deploy/kafka/provision.mjs');
  const props = readClientProperties(join(env.FRAMELINE_KAFKA_DIR, 'client.properties'));
  try {
    const r = await benchTrackingService({ root: ROOT, props, freshTopics: (prefix) => freshTopics(props, prefix), seconds: Number(process.env.BENCH_INFERENCE_SECONDS ?? 40), only: process.env.BENCH_TRACKING_ROWS });
    console.log(`\n${r.lines.join('\n')}`);
  } finally {
    if (started) kafka(['down'], env);
  }
  process.exit(0);
}
