// `npm run bench [-- --quick]`: builds, brings up the local bench broker, runs
// each benchmark with its baselines in the same invocation, and writes
// bench/results/latest.json, latest.md and the lag plot (the committed copy of
// the last run). Every figure is a ratio against a baseline from this run.
//   --quick            fewer rounds/cameras/frames, 2-minute lag run, 20 s windows (< 10 min)
//   --only=a,b         producer, lag, inference, tracking, latency, scale (default: all of them)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, build, ensureDebianPackages, ensureNodeModules, kafka, kafkaRunning, step } from '../scripts/lib.mjs';
import { ensurePyVenv } from './pyvenv.mjs';
import { lagMarkdown, latencyMarkdown, producerMarkdown, scaleMarkdown, summaryMarkdown, PI4_SYSBENCH_EVENTS_PER_SEC, sysbenchEventsPerCpuSecond } from './report.mjs';

const runStarted = performance.now();
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = (argv.find((a) => a.startsWith('--only='))?.slice(7) ?? 'producer,lag,inference,tracking,latency,scale').split(',');

ensureDebianPackages({ java: 'openjdk-17-jre-headless', mvn: 'maven', kcat: 'kcat', ffmpeg: 'ffmpeg', sysbench: 'sysbench' });
ensureNodeModules();
build();
const python = await ensurePyVenv(ROOT);
const { BENCH_KAFKA_ENV: env, freshTopics: freshTopicsOf } = await import('./topics.mjs');
const started = !kafkaRunning(env);
kafka(['up'], env);

const { readClientProperties } = await import('../deploy/kafka/provision.mjs');
const props = readClientProperties(join(env.FRAMELINE_KAFKA_DIR, 'client.properties'));
const freshTopics = (prefix) => freshTopicsOf(props, prefix);

const cpu = readFileSync('/proc/cpuinfo', 'utf8');
const git = (...a) => { try { return execFileSync('git', a, { cwd: ROOT, encoding: 'utf8' }).trim(); } catch { return 'unknown'; } };
const results = {
  date: new Date().toISOString(), quick, parts: only,
  machine: { cpu: /model name\s*:\s*(.*)/.exec(cpu)?.[1] ?? 'unknown', cores: (cpu.match(/^processor\s*:/gm) ?? []).length, loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') },
  git: { commit: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain') !== '' },
  benches: {},
};
const outDir = join(ROOT, 'bench/results');
mkdirSync(outDir, { recursive: true });
// --only=... updates those parts of latest.json and keeps the others (each part says its own run's date and commit).
const previous = join(outDir, 'latest.json');
if (argv.some((a) => a.startsWith('--only=')) && existsSync(previous)) {
  try { Object.assign(results.benches, JSON.parse(readFileSync(previous, 'utf8')).benches ?? {}); } catch { /* start afresh */ }
}
const stamp = { date: results.date, commit: results.git.commit, dirty: results.git.dirty, quick, loadavg: results.machine.loadavg };

const markdownOf = {
  producer: producerMarkdown, lag: lagMarkdown, inference: (x) => x.markdown, tracking: (x) => ['## Tracking', '', ...x.lines.map((l) => `    ${l}`), ''], latency: latencyMarkdown, scale: scaleMarkdown,
};
/** latest.json and latest.md after every part, so a run cut short keeps what it measured. */
function write() {
  const md = ['# frameline benchmarks', '',
    `Run ${results.date}${quick ? ' (--quick)' : ''} at commit ${results.git.commit}${results.git.dirty ? ' (uncommitted changes)' : ''} on ${results.machine.cores} × ${results.machine.cpu}, load average ${results.machine.loadavg} at the start (a shared machine: absolute figures are noise, ratios are measured against baselines interleaved in this same run). Parts: ${only.map((n) => `${n}${results.benches[n]?.seconds !== undefined && results.benches[n].run?.date === results.date ? ` (${Math.round(results.benches[n].seconds)} s)` : ''}`).join(', ')}; the whole invocation ${Math.round(results.seconds ?? (performance.now() - runStarted) / 1000)} s so far, build and broker start included.`, '',
    ...summaryMarkdown(results.benches, results.date)];
  for (const [name, toMd] of Object.entries(markdownOf)) {
    const b = results.benches[name];
    if (!b) continue;
    if (b.run && b.run.date !== results.date) md.push(`_This part is from an earlier run: ${b.run.date}${b.run.quick ? ' (--quick)' : ''} at commit ${b.run.commit}._`, '');
    if (b.error) md.push(`## ${name}: failed`, '', '```', b.error, '```', '');
    else md.push(...toMd(b));
  }
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2));
  writeFileSync(join(outDir, 'latest.md'), md.join('\n') + '\n');
  return md.join('\n');
}

/** Runs one part; its failure is recorded in the results, and the other parts still run. */
async function part(name, title, fn) {
  if (!only.includes(name)) return;
  step(title);
  const t0 = performance.now();
  try {
    results.benches[name] = { ...(await fn()), run: stamp };
  } catch (err) {
    console.log(`  ${name} failed: ${err.stack ?? err}`);
    results.benches[name] = { error: String(err.message ?? err).slice(0, 2000), run: stamp };
  }
  results.benches[name].seconds = (performance.now() - t0) / 1000;
  write();
}

try {
  await part('producer', 'producer throughput and cost: frameline vs kcat (interleaved), ProducerPerformance, kafka-python', async () => {
    const { benchProducer } = await import('./producer.mjs');
    const p = await benchProducer({ root: ROOT, props, topics: await freshTopics('bench-producer'), quick, python });
    p.sysbenchHere = sysbenchEventsPerCpuSecond(ROOT);
    p.pi4Factor = p.sysbenchHere ? p.sysbenchHere / PI4_SYSBENCH_EVENTS_PER_SEC : null;
    return p;
  });
  await part('lag', 'lag over time: frameline vs the second seed design, slow model', async () => {
    const { benchLag } = await import('./lag.mjs');
    const lag = await benchLag({ root: ROOT, props, topics: await freshTopics('bench-lag'), seconds: Number(process.env.BENCH_LAG_SECONDS ?? (quick ? 120 : 300)), python });
    writeFileSync(join(outDir, 'lag.json'), JSON.stringify(lag));
    execFileSync(python, [join(ROOT, 'bench/python/plot_lag.py'), join(outDir, 'lag.json'), join(outDir, 'lag.png')], { stdio: 'inherit' });
    return lag;
  });
  await part('inference', 'inference like for like: bare onnxruntime-node ceiling, the cloud path at batch 1 and batched, a Python onnxruntime pipeline, the seed\'s MediaPipe', async () => {
    const { benchInference } = await import('./inference.mjs');
    return benchInference({ root: ROOT, props, freshTopics, quick, python });
  });
  await part('tracking', 'tracking: detector on every frame vs pose tracking (same frames, same process; visible people with a skeleton; the real service in the demo setting)', async () => {
    const { benchTracking } = await import('./tracking.mjs');
    const t = await benchTracking({ root: ROOT, frames: quick ? 40 : 80 });
    // Against hand-read truth: the share of visible people that get a skeleton, both modes, both variants (the demo runs lite).
    const { benchSkeletonShare } = await import('./skeleton-share.mjs');
    const shares = [];
    // --quick: full only (the demo's and the service's default); lite is the full run's.
    for (const variant of quick ? ['full'] : ['full', 'lite']) shares.push({ variant, ...(await benchSkeletonShare({ root: ROOT, variant })) });
    // The demo setting: the real service, 3 cameras x 10 fps, detector on every frame vs tracking.
    const { benchTrackingService } = await import('./tracking-service.mjs');
    const service = await benchTrackingService({ root: ROOT, props, freshTopics, seconds: Number(process.env.BENCH_INFERENCE_SECONDS ?? (quick ? 20 : 40)) });
    return { speedUp: t.speedUp, found: t.found, before: { ...t.before, boxes: undefined }, after: { ...t.after, boxes: undefined }, skeletonShare: shares.map(({ variant, truth, rows }) => ({ variant, truth, rows })), service: { seconds: service.seconds, ratio: service.ratio, rows: service.rows },
      lines: [...t.lines, '', ...shares.flatMap((s) => [`BlazePose ${s.variant}:`, ...s.lines]), '', ...service.lines] };
  });
  await part('latency', 'end-to-end latency: 3 agents × 15 fps → cloud → alerts, live and reliable', async () => {
    const { benchLatency } = await import('./e2e.mjs');
    return benchLatency({ root: ROOT, props, freshTopics, seconds: Number(process.env.BENCH_E2E_SECONDS ?? (quick ? 20 : 60)) });
  });
  await part('scale', 'scale: cameras × 5 fps until the inferred frame\'s age passes maxLagMs', async () => {
    const { benchScale } = await import('./e2e.mjs');
    const steps = process.env.BENCH_SCALE_STEPS?.split(',').map(Number) ?? (quick ? [1, 3] : [1, 2, 3, 4, 6, 8, 10]);
    const sc = await benchScale({ root: ROOT, props, freshTopics, seconds: Number(process.env.BENCH_SCALE_SECONDS ?? (quick ? 20 : 40)), steps });
    writeFileSync(join(outDir, 'scale.json'), JSON.stringify(sc));
    execFileSync(python, [join(ROOT, 'bench/python/plot_scale.py'), join(outDir, 'scale.json'), join(outDir, 'scale.png')], { stdio: 'inherit' });
    return sc;
  });
} finally {
  if (started) kafka(['down'], env);
}
results.seconds = (performance.now() - runStarted) / 1000;
console.log(`\n${write()}`);
// The full run's copy survives later --quick runs.
if (!quick) for (const f of ['latest.json', 'latest.md']) copyFileSync(join(outDir, f), join(outDir, f.replace('latest', 'full')));
for (const png of ['lag', 'scale']) if (existsSync(join(outDir, `${png}.png`)) && !quick) copyFileSync(join(outDir, `${png}.png`), join(outDir, `${png}-full.png`));
process.exit(0);
