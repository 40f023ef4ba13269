// Agent publish throughput and cost: frameline's delivery stage (live and
// reliable) against kcat sending the same files with the same headers and the
// same acks, interleaved round by round on the same broker, over EXTERNAL
// (TLS + SCRAM) and INTERNAL (SASL_PLAINTEXT + SCRAM); Kafka's
// ProducerPerformance and a kafka-python producer like the second seed's as
// further baselines. Every producer runs as its own process under
// bench/python/measure.py, so CPU-seconds and peak RSS come from the kernel's
// rusage the same way for all of them.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const median = (xs) => { const s = xs.filter(Number.isFinite).sort((a, b) => a - b); return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : null; };

export async function makeFrames(root, distinct = 40) {
  // Real video frames, upscaled to 720p: what a Pi camera at 1280x720 sends.
  const dir = mkdtempSync(join(tmpdir(), 'fl-bench-frames-'));
  await run('ffmpeg', ['-loglevel', 'error', '-i', join(root, 'agent/test/fixtures/vtest.mp4'), '-vf', 'fps=5,scale=1280:720', '-frames:v', String(distinct), '-q:v', '4', join(dir, 'f-%03d.jpg')]);
  return readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().map((f) => join(dir, f));
}

const password = (props) => readFileSync(props['sasl.agent.password.file'], 'utf8').trim();

function kcatConfig(props, listener, mode, extra = []) {
  const file = join(mkdtempSync(join(tmpdir(), 'fl-bench-kcat-')), 'kcat.conf');
  const tls = listener === 'external';
  writeFileSync(file, [
    `bootstrap.servers=${props[`bootstrap.${listener}`]}`, `security.protocol=${tls ? 'SASL_SSL' : 'SASL_PLAINTEXT'}`, 'sasl.mechanisms=SCRAM-SHA-512',
    'sasl.username=agent', `sasl.password=${password(props)}`, ...(tls ? [`ssl.ca.location=${props['ssl.ca']}`] : []),
    // The same guarantees as frameline's modes: live = acks=1; reliable = acks=all + idempotence.
    ...(mode === 'reliable' ? ['acks=all', 'enable.idempotence=true'] : ['acks=1']),
    'message.max.bytes=1000000', 'partitioner=murmur2_random', ...extra,
  ].join('\n'), { mode: 0o600 });
  return file;
}

/** Runs `cmd` under measure.py; resolves { wall, cpu, maxrssKiB, stdout }. */
async function measured(ctx, cmd, args, env = {}) {
  const out = join(ctx.tmp, `m-${ctx.n++}.json`);
  const child = spawn(ctx.python, [join(ctx.root, 'bench/python/measure.py'), out, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b) => (stdout += b));
  child.stderr.on('data', (b) => (stderr = (stderr + b).slice(-3000)));
  const code = await new Promise((r) => child.once('exit', r));
  if (code !== 0) throw new Error(`${cmd} ${args.slice(0, 3).join(' ')}… exited ${code}: ${stderr}`);
  const m = JSON.parse(readFileSync(out, 'utf8'));
  return { wall: m.wall, cpu: m.utime + m.stime, maxrssKiB: m.maxrssKiB, stdout };
}

const cameraIds = (n) => Array.from({ length: n }, (_, i) => `CAMERA-${i + 1}`);

/** One producer kind for `cameras` cameras at once, each its own process sending `files`. */
async function runProducer(ctx, kind, { listener, cameras, mode, pipeline, maxBatchBytes, kcatExtra = [], env = {} }) {
  const { props, files, root, topics } = ctx;
  const started = performance.now();
  const procs = cameraIds(cameras).map((camera) => {
    if (kind === 'frameline') {
      const cpuProfile = ctx.cpuProf ? join(ctx.cpuProf, `${camera}.cpuprofile`) : undefined;
      const arg = JSON.stringify({ mode, listener, camera, files, props, topics, pipeline, maxBatchBytes, cpuProfile });
      return measured(ctx, process.execPath, [join(root, 'bench/frameline-send.mjs'), arg], env);
    }
    if (kind === 'kcat') {
      const headers = ['content-type=image/jpeg', 'fl-schema=1', `fl-camera=${camera}`, 'fl-run=bench', 'fl-seq=0', `fl-captured-at=${Date.now()}`, 'fl-width=1280', 'fl-height=720'];
      return measured(ctx, 'kcat', ['-F', kcatConfig(props, listener, mode, kcatExtra), '-P', '-t', topics.frames, '-k', camera, ...headers.flatMap((h) => ['-H', h]), ...files]);
    }
    if (kind === 'kafka-python') {
      const tls = listener === 'external';
      return measured(ctx, ctx.python, [join(root, 'bench/python/producer.py'), '--bootstrap', props[`bootstrap.${listener}`], '--security', tls ? 'SASL_SSL' : 'SASL_PLAINTEXT',
        '--password-file', props['sasl.agent.password.file'], ...(tls ? ['--ca', props['ssl.ca']] : []), '--topic', topics.frames, '--key', camera, '--acks', mode === 'reliable' ? 'all' : '1', ...files]);
    }
    throw new Error(kind);
  });
  const results = await Promise.all(procs);
  const wall = (performance.now() - started) / 1000;
  const frames = cameras * files.length;
  const out = results.map((r) => { try { return JSON.parse(r.stdout.trim().split('\n').pop()); } catch { return {}; } });
  let seconds = wall;
  let cpu = results.reduce((s, r) => s + r.cpu, 0);
  let counted = frames;
  if (kind === 'frameline') {
    // The send phase of every camera's process, from the first submit to the last ack: node's start and connect excluded.
    seconds = (Math.max(...out.map((o) => o.sendEnd)) - Math.min(...out.map((o) => o.sendStart))) / 1000;
    cpu = out.reduce((s, o) => s + o.cpuSeconds, 0);
  } else if (kind === 'kcat') {
    // kcat's start, TLS and SCRAM handshake, taken out by subtracting a one-frame kcat run of this same config and round.
    const one = await measured(ctx, 'kcat', ['-F', kcatConfig(props, listener, mode, kcatExtra), '-P', '-t', topics.frames, '-k', 'CAMERA-1', files[0]]);
    seconds = Math.max(0.001, wall - one.wall);
    cpu = Math.max(0, cpu - cameras * one.cpu);
    counted = cameras * (files.length - 1);
  } else if (kind === 'kafka-python' && out.every((o) => o.sendSeconds)) {
    seconds = Math.max(...out.map((o) => o.sendSeconds));
  }
  return {
    kind, listener, cameras, mode, pipeline: pipeline ? Object.keys(pipeline).join('+') : 'passthrough', maxBatchBytes: maxBatchBytes ?? null, frames, wall, seconds,
    framesPerSec: counted / seconds, mibPerSec: (counted * ctx.avgBytes) / 2 ** 20 / seconds,
    cpuSecPer1000: (cpu / counted) * 1000,
    peakRssMiB: Math.max(...results.map((r) => r.maxrssKiB)) / 1024,
  };
}

async function producerPerformance(ctx, listener, count) {
  const { props, root, topics } = ctx;
  const tls = listener === 'external';
  const conf = join(ctx.tmp, `pp-${listener}.properties`);
  writeFileSync(conf, [
    `bootstrap.servers=${props[`bootstrap.${listener}`]}`, `security.protocol=${tls ? 'SASL_SSL' : 'SASL_PLAINTEXT'}`, 'sasl.mechanism=SCRAM-SHA-512',
    `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="agent" password="${password(props)}";`,
    ...(tls ? ['ssl.truststore.type=PEM', `ssl.truststore.location=${props['ssl.ca']}`] : []), 'acks=all', 'enable.idempotence=true', 'max.request.size=2000000',
  ].join('\n'), { mode: 0o600 });
  const m = await measured(ctx, 'java', ['-Xmx512m', '-cp', join(root, '.cache/kafka-dist/3.9.2/libs/*'), 'org.apache.kafka.tools.ProducerPerformance', '--topic', topics.frames,
    '--num-records', String(count), '--record-size', String(ctx.avgBytes), '--throughput', '-1', '--producer.config', conf]);
  // The last "N records sent, X records/sec (Y MB/sec), ..." line is the whole run's (earlier ones are 5-s windows): its own timing, no JVM start.
  const rate = Number([...m.stdout.matchAll(/\d+ records sent, ([\d.]+) records\/sec/g)].at(-1)[1]);
  return { kind: 'ProducerPerformance', listener, cameras: 1, mode: 'reliable', pipeline: 'passthrough', frames: count, wall: m.wall, framesPerSec: rate,
    mibPerSec: (rate * ctx.avgBytes) / 2 ** 20, cpuSecPer1000: (m.cpu / count) * 1000, peakRssMiB: m.maxrssKiB / 1024, seconds: count / rate };
}

/** Top self-time functions of the V8 CPU profiles in `dir`, as % of samples. */
export function summariseProfiles(dir, top = 12) {
  const self = new Map();
  let total = 0;
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    for (const id of p.samples) {
      const n = byId.get(id);
      const url = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/(agent|shared)\//, '$1/');
      const key = `${n.callFrame.functionName || '(anonymous)'} ${url ? `${url}:${n.callFrame.lineNumber + 1}` : ''}`.trim();
      self.set(key, (self.get(key) ?? 0) + 1);
      total++;
    }
  }
  return [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([frame, n]) => ({ frame, pct: (100 * n) / total }));
}

/**
 * @param o.quick fewer rounds/cameras/frames
 * @returns { rows (every run), ratios (median per config), profile, cpu }
 */
export async function benchProducer({ root, props, topics, quick, python }) {
  const files0 = await makeFrames(root);
  const perCamera = Number(process.env.BENCH_FRAMES_PER_CAMERA ?? (quick ? 120 : 300));
  const files = Array.from({ length: perCamera }, (_, i) => files0[i % files0.length]);
  const avgBytes = Math.round(files.reduce((n, f) => n + readFileSync(f).length, 0) / files.length);
  const ctx = { root, props, topics, files, avgBytes, python, tmp: mkdtempSync(join(tmpdir(), 'fl-bench-prod-')), n: 0 };
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 2 : 3));
  const configs = [];
  for (const listener of ['external', 'internal']) {
    // BENCH_CAMERAS=1,3,10 puts 10 cameras into a --quick run too (EXTERNAL only there)
    for (const cameras of process.env.BENCH_CAMERAS?.split(',').map(Number) ?? (quick ? [1, 3] : [1, 3, 10])) {
      if (quick && listener === 'internal' && cameras > 1) continue;
      for (const mode of ['live', 'reliable']) configs.push({ listener, cameras, mode });
    }
  }
  const rows = [];
  for (let r = 0; r < rounds; r++) {
    for (const c of configs) {
      // Interleaved: frameline then kcat on the same config, alternating which goes first per round.
      const order = r % 2 ? ['kcat', 'frameline'] : ['frameline', 'kcat'];
      for (const kind of order) {
        const row = { round: r, ...(await runProducer(ctx, kind, c)) };
        rows.push(row);
        console.log(`  round ${r} ${kind} ${c.listener} ${c.cameras} cam ${c.mode}: ${row.framesPerSec.toFixed(0)} frames/s, ${row.cpuSecPer1000.toFixed(2)} CPU-s/1000`);
      }
      if (c.cameras === 1 && c.mode === 'reliable' && c.listener === 'external') {
        // The one-request-in-flight limit of kafkajs's idempotent producer makes request size the lever: 4 MiB requests (broker message.max.bytes is 32 MiB).
        const row = { round: r, ...(await runProducer(ctx, 'frameline', { ...c, maxBatchBytes: 4 << 20 })), kind: 'frameline-4MiB' };
        rows.push(row);
        console.log(`  round ${r} frameline maxBatchBytes 4 MiB ${c.listener}: ${row.framesPerSec.toFixed(0)} frames/s`);
        // kafkajs as it ships, without shared/src/kafka/kafkajs-fast-path.ts: what the fast path gains, on the same broker and frames.
        const plain = { round: r, ...(await runProducer(ctx, 'frameline', { ...c, env: { FRAMELINE_KAFKAJS_FAST_PATH: '0' } })), kind: 'frameline-kafkajs-as-shipped' };
        rows.push(plain);
        console.log(`  round ${r} frameline, kafkajs fast path off ${c.listener}: ${plain.framesPerSec.toFixed(0)} frames/s, ${plain.cpuSecPer1000.toFixed(2)} CPU-s/1000`);
        // librdkafka held to kafkajs's limit: one produce request in flight per connection. What kcat loses here is what that lock costs.
        const one = { round: r, ...(await runProducer(ctx, 'kcat', { ...c, kcatExtra: ['max.in.flight.requests.per.connection=1'] })), kind: 'kcat-inflight1' };
        rows.push(one);
        console.log(`  round ${r} kcat max.in.flight 1 ${c.listener}: ${one.framesPerSec.toFixed(0)} frames/s`);
      }
      if (r === 0 && c.cameras === 1 && c.mode === 'reliable') {
        for (const extra of [() => runProducer(ctx, 'kafka-python', c), () => producerPerformance(ctx, c.listener, perCamera)]) {
          try {
            const row = { round: r, ...(await extra()) };
            rows.push(row);
            console.log(`  ${row.kind} ${c.listener}: ${row.framesPerSec.toFixed(0)} frames/s`);
          } catch (err) {
            rows.push({ round: r, kind: 'error', error: String(err.message).slice(0, 500), ...c });
          }
        }
      }
    }
  }
  // Agent cost with the pipeline on, beside kcat passthrough in the same round (EXTERNAL, reliable, 1 camera).
  const pipelines = { motion: { motion: { threshold: 0.01, keepAliveSeconds: 10 } }, resize: { resize: { maxWidth: 640, maxHeight: 360, quality: 80 } } };
  for (const [name, pipeline] of Object.entries(pipelines)) {
    try {
      const row = { round: 0, ...(await runProducer(ctx, 'frameline', { listener: 'external', cameras: 1, mode: 'reliable', pipeline })), pipeline: name };
      rows.push(row);
      console.log(`  frameline ${name}: ${row.cpuSecPer1000.toFixed(2)} CPU-s/1000 frames`);
    } catch (err) {
      rows.push({ round: 0, kind: 'error', pipeline: name, error: String(err.message).slice(0, 500) });
    }
  }
  // Where frameline's time goes: one reliable run over TLS, its send phase profiled (inspector, 200 µs sampling).
  ctx.cpuProf = mkdtempSync(join(tmpdir(), 'fl-bench-prof-'));
  await runProducer(ctx, 'frameline', { listener: 'external', cameras: 1, mode: 'reliable' });
  const profile = summariseProfiles(ctx.cpuProf);
  ctx.cpuProf = undefined;

  const ratios = [];
  for (const c of configs) {
    const per = (kind) => rows.filter((x) => x.kind === kind && x.listener === c.listener && x.cameras === c.cameras && x.mode === c.mode && x.pipeline === 'passthrough');
    const fl = per('frameline');
    const kc = per('kcat');
    const byRound = fl.map((f) => f.framesPerSec / (kc.find((k) => k.round === f.round)?.framesPerSec ?? NaN));
    ratios.push({ ...c, framelineFps: median(fl.map((x) => x.framesPerSec)), framelineMiBs: median(fl.map((x) => x.mibPerSec)), kcatFps: median(kc.map((x) => x.framesPerSec)),
      ratioVsKcat: median(byRound), ratiosByRound: byRound, framelineCpuPer1000: median(fl.map((x) => x.cpuSecPer1000)), kcatCpuPer1000: median(kc.map((x) => x.cpuSecPer1000)),
      framelineRssMiB: median(fl.map((x) => x.peakRssMiB)), kcatRssMiB: median(kc.map((x) => x.peakRssMiB)) });
    for (const [kind, variant] of [['frameline-4MiB', 'maxBatchBytes 4 MiB'], ['frameline-kafkajs-as-shipped', 'kafkajs as shipped (FRAMELINE_KAFKAJS_FAST_PATH=0)']]) {
      const v = per(kind);
      if (!v.length) continue;
      const vs = v.map((f) => f.framesPerSec / (kc.find((k) => k.round === f.round)?.framesPerSec ?? NaN));
      ratios.push({ ...c, variant, framelineFps: median(v.map((x) => x.framesPerSec)), framelineMiBs: median(v.map((x) => x.mibPerSec)), kcatFps: median(kc.map((x) => x.framesPerSec)),
        ratioVsKcat: median(vs), ratiosByRound: vs, framelineCpuPer1000: median(v.map((x) => x.cpuSecPer1000)), kcatCpuPer1000: median(kc.map((x) => x.cpuSecPer1000)),
        framelineRssMiB: median(v.map((x) => x.peakRssMiB)), kcatRssMiB: median(kc.map((x) => x.peakRssMiB)) });
    }
  }
  const kcat1 = rows.filter((x) => x.kind === 'kcat' && x.listener === 'external' && x.cameras === 1 && x.mode === 'reliable' && x.pipeline === 'passthrough');
  const kcatInflight1 = rows.filter((x) => x.kind === 'kcat-inflight1');
  const fl1 = rows.filter((x) => x.kind === 'frameline' && x.listener === 'external' && x.cameras === 1 && x.mode === 'reliable' && x.pipeline === 'passthrough');
  const inflight1 = kcatInflight1.length ? {
    kcatInflight1Fps: median(kcatInflight1.map((x) => x.framesPerSec)),
    ratioVsKcat: median(kcatInflight1.map((k) => k.framesPerSec / (kcat1.find((x) => x.round === k.round)?.framesPerSec ?? NaN))),
    framelineVsInflight1: median(kcatInflight1.map((k) => (fl1.find((x) => x.round === k.round)?.framesPerSec ?? NaN) / k.framesPerSec)),
    cpuPer1000: median(kcatInflight1.map((x) => x.cpuSecPer1000)),
  } : null;
  return { perCamera, avgFrameBytes: avgBytes, rounds, rows, ratios, profile, inflight1 };
}
