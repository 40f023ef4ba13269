// `npm run bench`: builds, brings up the local broker, runs each benchmark
// with its baselines in the same invocation, prints ratios, and writes
// bench/results/latest.json and latest.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, build, ensureDebianPackages, ensureNodeModules, kafka, kafkaRunning, step } from '../scripts/lib.mjs';

ensureDebianPackages({ java: 'openjdk-17-jre-headless', mvn: 'maven', kcat: 'kcat', ffmpeg: 'ffmpeg' });
ensureNodeModules();
build();
const { BENCH_KAFKA_ENV: env, freshTopics: freshTopicsOf } = await import('./topics.mjs');
const started = !kafkaRunning(env);
kafka(['up'], env);

const { readClientProperties } = await import('../deploy/kafka/provision.mjs');
const props = readClientProperties(join(env.FRAMELINE_KAFKA_DIR, 'client.properties'));
const freshTopics = (prefix) => freshTopicsOf(props, prefix);

const results = { date: new Date().toISOString(), machine: `${(await import('node:os')).cpus().length} cores`, benches: {} };
const md = ['# frameline benchmarks', '', `Run ${results.date} on ${results.machine}. Ratios are against the first row of each table, measured in the same run.`, ''];
try {
  step('producer throughput: frameline vs kcat vs ProducerPerformance');
  const { benchProducer } = await import('./producer.mjs');
  const p = await benchProducer({ root: ROOT, props, topics: await freshTopics('bench-producer'), count: Number(process.env.BENCH_FRAMES ?? 600) });
  results.benches.producer = p;
  md.push(`## Producer: ${p.count} real 1280x720 JPEG frames (avg ${Math.round(p.avgFrameBytes / 1024)} KiB), EXTERNAL listener, TLS + SCRAM, acks=all`, '',
    '| producer | s | frames/s | MiB/s | ratio (frameline / this) |', '|---|---|---|---|---|');
  const base = p.rows[0];
  for (const r of p.rows) md.push(`| ${r.name} | ${r.seconds.toFixed(2)} | ${r.framesPerSec.toFixed(0)} | ${r.mbPerSec.toFixed(1)} | ${(base.framesPerSec / r.framesPerSec).toFixed(2)} |`);
  md.push('');

  if (process.env.BENCH_SKIP_INFERENCE !== '1') {
    try {
      const { benchInference } = await import('./inference.mjs');
      step('inference: frameline cloud vs a Python pipeline like the second seed');
      const inf = await benchInference({ root: ROOT, props, topics: await freshTopics('bench-inference') });
      results.benches.inference = inf;
      md.push(...inf.markdown, '');
    } catch (err) {
      if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err;
    }
  }
} finally {
  if (started) kafka(['down'], env);
}
const text = md.join('\n');
console.log(`\n${text}`);
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, 'bench/results/latest.json'), JSON.stringify(results, null, 2));
writeFileSync(join(ROOT, 'bench/results/latest.md'), text + '\n');
process.exit(0);
