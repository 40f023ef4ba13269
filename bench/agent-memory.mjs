// Agent memory over a long live run: 3 agents × 15 fps of 1280x720 frames
// (synthetic source, live mode) against the bench broker, RSS sampled from
// /proc every 10 s. Flat RSS is the goal; the numbers go in the report.
//   node bench/agent-memory.mjs [seconds=600]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, kafka, kafkaRunning } from '../scripts/lib.mjs';

const seconds = Number(process.argv[2] ?? 600);
const env = { FRAMELINE_KAFKA_DIR: join(ROOT, '.cache/kafka-bench'), KAFKA_INTERNAL_PORT: '39092', KAFKA_EXTERNAL_PORT: '39093', KAFKA_CONTROLLER_PORT: '39094', KAFKA_HEAP: '1g' };
const started = !kafkaRunning(env);
kafka(['up'], env);
const { readClientProperties } = await import('../deploy/kafka/provision.mjs');
const props = readClientProperties(join(env.FRAMELINE_KAFKA_DIR, 'client.properties'));
const dir = mkdtempSync(join(tmpdir(), 'fl-agent-mem-'));

const agents = [1, 2, 3].map((i) => {
  const file = join(dir, `agent-${i}.json`);
  writeFileSync(file, JSON.stringify({
    camera: { id: `CAMERA-${i}`, source: 'synthetic', width: 1280, height: 720, fps: 15, synthetic: { cycleFrames: 45 } },
    kafka: { brokers: [props['bootstrap.external']], passwordFile: props['sasl.agent.password.file'], caFile: props['ssl.ca'] },
    partitioning: 'camera-index', delivery: { mode: 'live' }, stateDir: join(dir, `state-${i}`), log: { level: 'warn' },
  }));
  const child = spawn(process.execPath, [join(ROOT, 'agent/bin/frameline-agent.js'), 'run', '--config', file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b) => (out += b.toString().slice(-4000)));
  return { camera: `CAMERA-${i}`, child, samples: [], out: () => out };
});

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const t0 = Date.now();
await new Promise((resolve) => {
  const timer = setInterval(() => {
    const t = Math.round((Date.now() - t0) / 1000);
    for (const a of agents) a.samples.push({ t, rss: rssMiB(a.child.pid) });
    if (t >= seconds) {
      clearInterval(timer);
      resolve();
    }
  }, 10_000);
});
for (const a of agents) a.child.kill('SIGTERM');
await Promise.all(agents.map((a) => new Promise((r) => a.child.once('exit', r))));
if (started) kafka(['down'], env);

const avg = (xs) => xs.reduce((s, x) => s + x, 0) / xs.length;
console.log(`\n## Agent RSS, ${seconds} s live run, 3 agents × 15 fps × 1280x720 (synthetic), EXTERNAL TLS + SCRAM\n`);
console.log('| camera | RSS 1st minute (MiB, mean) | RSS last minute (MiB, mean) | min | max |');
console.log('|---|---|---|---|---|');
for (const a of agents) {
  const first = a.samples.filter((s) => s.t <= 60).map((s) => s.rss);
  const last = a.samples.filter((s) => s.t > seconds - 60).map((s) => s.rss);
  const all = a.samples.map((s) => s.rss);
  console.log(`| ${a.camera} | ${avg(first).toFixed(1)} | ${avg(last).toFixed(1)} | ${Math.min(...all).toFixed(1)} | ${Math.max(...all).toFixed(1)} |`);
}
for (const a of agents) console.log(`${a.camera}: ${/\[agent\] stopped .*/.exec(a.out())?.[0] ?? '(no stop line)'}`);
console.log(`samples (t, MiB): ${agents.map((a) => `${a.camera} ${a.samples.map((s) => `${s.t}:${s.rss.toFixed(0)}`).join(' ')}`).join('\n')}`);
