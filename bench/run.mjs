// `npm run bench [-- --quick]`: builds, brings up the local bench broker, runs
// each benchmark with its baselines in the same invocation, and writes
// bench/results/latest.json, latest.md and the lag plot (the committed copy of
// the last run). Every figure is a ratio against a baseline from this run.
//   --quick            fewer rounds/cameras/frames, 2-minute lag run (< 10 min)
//   --only=a,b         producer, lag, inference, tracking (default: producer,lag; inference with --inference)
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, build, ensureDebianPackages, ensureNodeModules, kafka, kafkaRunning, step } from '../scripts/lib.mjs';
import { ensurePyVenv } from './pyvenv.mjs';
import { lagMarkdown, producerMarkdown, PI4_SYSBENCH_EVENTS_PER_SEC, sysbenchEventsPerCpuSecond } from './report.mjs';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = (argv.find((a) => a.startsWith('--only='))?.slice(7) ?? `producer,lag${argv.includes('--inference') ? ',inference' : ''}`).split(',');

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
  date: new Date().toISOString(), quick,
  machine: { cpu: /model name\s*:\s*(.*)/.exec(cpu)?.[1] ?? 'unknown', cores: (cpu.match(/^processor\s*:/gm) ?? []).length, loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') },
  git: { commit: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain') !== '' },
  benches: {},
};
const md = ['# frameline benchmarks', '',
  `Run ${results.date}${quick ? ' (--quick)' : ''} at commit ${results.git.commit}${results.git.dirty ? ' (uncommitted changes)' : ''} on ${results.machine.cores} × ${results.machine.cpu}, load average ${results.machine.loadavg} (a shared machine: absolute figures are noise, ratios are measured against baselines interleaved in this same run).`, ''];
const outDir = join(ROOT, 'bench/results');
mkdirSync(outDir, { recursive: true });
try {
  if (only.includes('producer')) {
    step('producer throughput and cost: frameline vs kcat (interleaved), ProducerPerformance, kafka-python');
    const { benchProducer } = await import('./producer.mjs');
    const p = await benchProducer({ root: ROOT, props, topics: await freshTopics('bench-producer'), quick, python });
    p.sysbenchHere = sysbenchEventsPerCpuSecond(ROOT);
    p.pi4Factor = p.sysbenchHere ? p.sysbenchHere / PI4_SYSBENCH_EVENTS_PER_SEC : null;
    results.benches.producer = p;
    md.push(...producerMarkdown(results.benches.producer));
  }
  if (only.includes('lag')) {
    step('lag over time: frameline vs the second seed design, slow model');
    const { benchLag } = await import('./lag.mjs');
    const lag = await benchLag({ root: ROOT, props, topics: await freshTopics('bench-lag'), seconds: Number(process.env.BENCH_LAG_SECONDS ?? (quick ? 120 : 300)), python });
    results.benches.lag = lag;
    writeFileSync(join(outDir, 'lag.json'), JSON.stringify(lag));
    execFileSync(python, [join(ROOT, 'bench/python/plot_lag.py'), join(outDir, 'lag.json'), join(outDir, 'lag.png')], { stdio: 'inherit' });
    md.push(...lagMarkdown(lag));
  }
  if (only.includes('inference')) {
    step('inference: frameline cloud vs a Python pipeline like the second seed');
    const { benchInference } = await import('./inference.mjs');
    const inf = await benchInference({ root: ROOT, props, topics: await freshTopics('bench-inference') });
    results.benches.inference = inf;
    md.push(...inf.markdown, '');
  }
  if (only.includes('tracking')) {
    step('tracking: detector on every frame vs pose tracking, same frames, same process');
    const { benchTracking } = await import('./tracking.mjs');
    const t = await benchTracking({ root: ROOT, frames: quick ? 40 : 80 });
    results.benches.tracking = { speedUp: t.speedUp, found: t.found, before: { ...t.before, boxes: undefined }, after: { ...t.after, boxes: undefined } };
    md.push('## Tracking', '', ...t.lines.map((l) => `    ${l}`), '');
  }
} finally {
  if (started) kafka(['down'], env);
}
const text = md.join('\n');
console.log(`\n${text}`);
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2));
writeFileSync(join(outDir, 'latest.md'), text + '\n');
// The full run's copy survives later --quick runs.
if (!quick) for (const f of ['latest.json', 'latest.md']) copyFileSync(join(outDir, f), join(outDir, f.replace('latest', 'full')));
if (existsSync(join(outDir, 'lag.png')) && !quick) copyFileSync(join(outDir, 'lag.png'), join(outDir, 'lag-full.png'));
process.exit(0);
