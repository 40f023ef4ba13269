// Markdown tables of bench/run.mjs's results. Every row names its baseline.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const f = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d).replace(/^-(0\.?0*)$/, '$1'));
const listenerName = { external: 'EXTERNAL (TLS + SCRAM)', internal: 'INTERNAL (SASL_PLAINTEXT + SCRAM)' };

/** Pi 4 single-core sysbench 1.0.20 `cpu --threads=1` events/s, from https://leoncode.co.uk/articles/raspberry-pi-benchmarks (1477.83). */
export const PI4_SYSBENCH_EVENTS_PER_SEC = 1477.83;

/**
 * Events per CPU-second of `sysbench cpu --threads=1` here, by CPU time (not
 * wall time, which the shared machine's load would inflate); null without sysbench.
 */
export function sysbenchEventsPerCpuSecond(root) {
  try {
    const out = join(mkdtempSync(join(tmpdir(), 'fl-bench-sysbench-')), 'm.json');
    const text = execFileSync('python3', [join(root, 'bench/python/measure.py'), out, 'sysbench', 'cpu', '--threads=1', '--time=5', 'run'], { encoding: 'utf8' });
    const events = Number(/total number of events:\s+(\d+)/.exec(text)[1]);
    const m = JSON.parse(readFileSync(out, 'utf8'));
    return events / (m.utime + m.stime);
  } catch {
    return null;
  }
}

export function producerMarkdown(p) {
  const md = [`## Agent publish throughput: ${p.perCamera} real 1280x720 JPEG frames per camera (avg ${Math.round(p.avgFrameBytes / 1024)} KiB), burst, median of ${p.rounds} interleaved rounds`, '',
    'Baseline of every row: `kcat -P` (librdkafka) sending the same files with the same headers and the same acks (live: acks=1; reliable: acks=all + idempotence), run right before or after it in the same round. Ratio = median over rounds of (frameline frames/s ÷ kcat frames/s in that round). Each producer is its own process per camera. frameline: its send phase, first submit to last ack (CPU from /proc/self/stat over the same phase); kcat: process wall time and CPU minus those of a one-frame kcat run of the same config and round (start, TLS and SCRAM handshake).', '',
    '| listener | cameras | mode | frameline frames/s | MiB/s | kcat frames/s | **ratio vs kcat** | per-round ratios | frameline CPU-s/1000 frames | kcat CPU-s/1000 | frameline peak RSS MiB | kcat peak RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of p.ratios) {
    md.push(`| ${listenerName[r.listener]} | ${r.cameras} | ${r.mode}${r.variant ? `, ${r.variant}` : ''} | ${f(r.framelineFps)} | ${f(r.framelineMiBs, 1)} | ${f(r.kcatFps)} | **${f(r.ratioVsKcat, 2)}** | ${r.ratiosByRound.map((x) => f(x, 2)).join(', ')} | ${f(r.framelineCpuPer1000, 2)} | ${f(r.kcatCpuPer1000, 2)} | ${f(r.framelineRssMiB)} | ${f(r.kcatRssMiB)} |`);
  }
  const kcatRel = (listener) => p.ratios.find((r) => r.listener === listener && r.cameras === 1 && r.mode === 'reliable' && !r.variant);
  md.push('', '### Other producers, reliable (acks=all), 1 camera; baseline: kcat reliable 1 camera on the same listener (median of this run)', '',
    '| producer | listener | frames/s | ratio vs kcat | CPU-s/1000 frames | peak RSS MiB |', '|---|---|---|---|---|---|');
  for (const r of p.rows.filter((x) => x.kind === 'ProducerPerformance' || x.kind === 'kafka-python' || x.kind === 'error')) {
    if (r.kind === 'error') { md.push(`| failed: ${r.error.replace(/\|/g, '/').split('\n')[0]} | ${r.listener ?? ''} | | | | |`); continue; }
    const label = r.kind === 'kafka-python' ? 'kafka-python 2.3.3, one send() per frame, linger 0 (the second seed\'s producer, acks=all)' : `Kafka ProducerPerformance 3.9.2, ${p.avgFrameBytes}-byte records (its own timing, no JVM start, but a cold JVM: its first connect and JIT fall inside its timing${p.perCamera <= 120 ? `, and with ${p.perCamera} records they dominate` : ''})`;
    md.push(`| ${label} | ${r.listener} | ${f(r.framesPerSec)} | ${f(r.framesPerSec / kcatRel(r.listener)?.kcatFps, 2)} | ${f(r.cpuSecPer1000, 2)} | ${f(r.peakRssMiB)} |`);
  }
  const tls = (mode) => {
    const e = p.ratios.find((r) => r.listener === 'external' && r.cameras === 1 && r.mode === mode && !r.variant);
    const i = p.ratios.find((r) => r.listener === 'internal' && r.cameras === 1 && r.mode === mode);
    return e && i ? `${mode}: frameline ${f(e.framelineFps / i.framelineFps, 2)}× its plaintext rate, ${f(e.framelineCpuPer1000 / i.framelineCpuPer1000, 2)}× its plaintext CPU; kcat ${f(e.kcatFps / i.kcatFps, 2)}× and ${f(e.kcatCpuPer1000 / i.kcatCpuPer1000, 2)}×` : '';
  };
  md.push('', `**What TLS costs** (EXTERNAL ÷ INTERNAL, 1 camera): ${tls('live')}; ${tls('reliable')}.`, '');
  if (p.inflight1) {
    md.push(`**One request in flight** (EXTERNAL, reliable, 1 camera): kcat with \`max.in.flight.requests.per.connection=1\` (the limit kafkajs's idempotent producer imposes through its per-broker lock) sends ${f(p.inflight1.kcatInflight1Fps)} frames/s, **${f(p.inflight1.ratioVsKcat, 2)}×** kcat at its default of 5, with ${f(p.inflight1.cpuPer1000, 2)} CPU-s/1000 frames; frameline \`reliable\` is ${f(p.inflight1.framelineVsInflight1, 2)}× that (medians over rounds, same rounds).`, '');
  }
  md.push(...cpuMarkdown(p), '');
  md.push('### Where frameline\'s time goes: V8 CPU profile of the send phase (first submit to last ack) of one reliable 1-camera run over TLS, top self-time frames', '', '| % of samples | frame |', '|---|---|');
  for (const x of p.profile) md.push(`| ${f(x.pct, 1)} | \`${x.frame}\` |`);
  md.push('');
  return md;
}

function cpuMarkdown(p) {
  const kc = p.ratios.find((r) => r.listener === 'external' && r.cameras === 1 && r.mode === 'reliable' && !r.variant);
  const rows = [['passthrough', kc?.framelineCpuPer1000, kc?.framelineRssMiB],
    ...['motion', 'resize'].map((name) => { const r = p.rows.find((x) => x.kind === 'frameline' && x.pipeline === name); return [name, r?.cpuSecPer1000, r?.peakRssMiB]; })];
  const factor = p.pi4Factor;
  const md = ['### Agent CPU and memory per frame (EXTERNAL, reliable, 1 camera); baseline: kcat passthrough of the same files in the same run', '',
    `CPU-seconds per 1000 frames = (utime + stime) of the producer process ÷ frames × 1000; peak RSS = its VmHWM. Pi 4 share for 3 cameras × 15 fps = 45 frames/s × CPU-s per frame × F, with F = ${factor ? f(factor, 1) : 'n/a'} Pi 4 core-seconds per core-second here: \`sysbench cpu --threads=1\` gives ${p.sysbenchHere ? f(p.sysbenchHere) : 'n/a'} events per CPU-second here (measured in this run) against ${PI4_SYSBENCH_EVENTS_PER_SEC} events/s on a Pi 4 (sysbench 1.0.20, https://leoncode.co.uk/articles/raspberry-pi-benchmarks). A prime-number loop flatters the A72 next to JPEG and TLS work; the Pi 4's BCM2711 also lacks the ARMv8 crypto extensions (https://github.com/ThomasKaiser/sbc-bench/blob/master/results/ARMv8-Crypto-Extensions.md), so TLS costs more there than the factor says.`, '',
    '| agent stage | CPU-s/1000 frames | CPU ratio vs kcat passthrough (lower is cheaper) | peak RSS MiB | Pi 4 core share at 3 × 15 fps |', '|---|---|---|---|---|'];
  for (const [name, cpu, rss] of rows) md.push(`| frameline ${name} | ${f(cpu, 2)} | ${f(cpu / kc?.kcatCpuPer1000, 2)} | ${f(rss)} | ${factor && cpu ? `${f(45 * (cpu / 1000) * factor * 100)} %` : 'n/a'} |`);
  md.push(`| kcat passthrough (baseline) | ${f(kc?.kcatCpuPer1000, 2)} | 1.00 | ${f(kc?.kcatRssMiB)} | ${factor && kc ? `${f(45 * (kc.kcatCpuPer1000 / 1000) * factor * 100)} %` : 'n/a'} |`);
  return md;
}

export function lagMarkdown(lag) {
  const md = [`## Lag over time: ${lag.cameras} cameras × ${lag.fps} fps, model ${lag.msPerFrame} ms/frame (decode + CPU burn), ${f(lag.seconds)} s, both designs on the same stream at once`, '',
    'Baseline: the second seed\'s design (bench/python/seed_queue.py: every frame queued and inferred in order, same per-frame work). Age = inference time − capture time, median per second; slope by least squares.', '',
    '| design | inferred frames/s | slope (s of age per s) | age at the end | max age |', '|---|---|---|---|---|'];
  for (const [name, s] of Object.entries(lag.series)) md.push(`| ${name} | ${f(s.inferredPerSec, 1)} | ${f(s.slope, 3)} | ${f(s.lastAgeMs / 1000, 1)} s | ${f(s.maxAgeMs / 1000, 1)} s |`);
  md.push('', `Producer ticks that fell behind schedule: ${lag.ticksLate} of ${lag.seconds * lag.fps}.`, '', '![lag over time](lag.png)', '');
  return md;
}

const ms = (d) => `${f(d?.p50)} / ${f(d?.p99)} / ${f(d?.max)}`;

export function latencyMarkdown(lat) {
  const r0 = lat.runs[0];
  const md = [`## End-to-end latency: 3 agents × 15 fps → broker → cloud → alerts, from the records' own timestamps`, '',
    `Real agents (camera source "file": vtest.mp4 at 15 fps, EXTERNAL TLS + SCRAM), the real cloud service (BlazePose ${r0?.model.variant}, ${r0?.model.detector} detector, tracking defaults, maxLagMs ${r0?.maxLagMs}) with a 1 s dwell zone over the lower half of every camera, all on this machine with the broker. ` +
    'capture → inference = `publishedAt − capturedAt` of video.inferences; capture → alert = `publishedAt − endedAt` of video.alerts (endedAt: capture time of the frame that confirmed the event). Baseline: `maxLagMs`, the bound frameline promises for the age of a frame at inference start. The measured window opens 5 s after every camera\'s first inference record.', '',
    '| delivery | window s | inferred / offered frames/s | capture → ingest ms p50 / p99 / max | capture → inference record ms p50 / p99 / max | alerts | capture → alert ms p50 / p99 / max | cloud CPU cores | agents CPU cores |',
    '|---|---|---|---|---|---|---|---|---|'];
  for (const r of lat.runs) md.push(`| ${r.mode} | ${f(r.seconds)} | ${f(r.inferredPerSec, 1)} / ${r.offeredPerSec} | ${ms(r.captureToIngestMs)} | ${ms(r.captureToInferenceMs)} | ${r.alerts} | ${ms(r.captureToAlertMs)} | ${f(r.cpuCoresCloud, 2)} | ${f(r.cpuCoresAgents, 2)} |`);
  md.push('');
  return md;
}

export function scaleMarkdown(sc) {
  const md = [`## Scale: cameras × 5 fps on one machine (broker + cloud + agents) until the inferred frame's age passes maxLagMs (${sc.maxLagMs} ms)`, '',
    `Each step: N real agents (reliable) and the real cloud (as in the latency rows) for the stated window; age = capture → inference record published, p99 over the window. **Sustained: ${sc.sustainedCameras} camera(s)** (the largest N whose p99 age stayed within maxLagMs). CPU in cores = CPU-seconds per second of the cloud's and the agents' process trees (ffmpeg included; broker not).`, '',
    '| cameras | inferred / offered frames/s | age ms p50 / p99 / max | skipped (stale) frames | cloud CPU cores | agents CPU cores | total CPU cores per camera |', '|---|---|---|---|---|---|---|'];
  for (const r of sc.runs) md.push(`| ${r.cameras} | ${f(r.inferredPerSec, 1)} / ${r.offeredPerSec} | ${ms(r.captureToInferenceMs)} | ${r.skippedTotal} | ${f(r.cpuCoresCloud, 2)} | ${f(r.cpuCoresAgents, 2)} | ${f((r.cpuCoresCloud + r.cpuCoresAgents) / r.cameras, 2)} |`);
  md.push('', '![scale](scale.png)', '');
  return md;
}

/**
 * The one table a reader needs first (README copies it): per stage, frameline's
 * figure, the baseline it is divided by (from the same invocation) and the
 * ratio. `benches` is latest.json's `benches`; parts not run are left out.
 */
export function summaryMarkdown(benches, date) {
  const rows = [];
  // --only=... keeps other parts from earlier runs: their rows say so.
  const earlier = (part) => (date && benches[part]?.run && benches[part].run.date !== date ? ` _(from the ${benches[part].run.date.slice(0, 16).replace('T', ' ')} UTC run)_` : '');
  /** One row of `part`; the stage cell says when the part comes from an earlier run. */
  const row = (part, [stage, ...rest]) => rows.push([`${stage}${earlier(part)}`, ...rest]);
  const p = benches.producer;
  if (p?.ratios) {
    const r = (listener, cameras, mode) => p.ratios.find((x) => x.listener === listener && x.cameras === cameras && x.mode === mode && !x.variant);
    for (const [listener, cameras, mode] of [['external', 1, 'reliable'], ['external', 1, 'live'], ['external', 3, 'reliable'], ['external', 10, 'reliable'], ['internal', 1, 'reliable']]) {
      const x = r(listener, cameras, mode);
      if (x) row('producer', [`publish, ${listenerName[listener]}, ${cameras} camera${cameras > 1 ? 's' : ''}, \`${mode}\``, `${f(x.framelineFps)} frames/s, ${f(x.framelineCpuPer1000, 2)} CPU-s/1000 frames`, `\`kcat -P\`, same files, headers and acks: ${f(x.kcatFps)} frames/s, ${f(x.kcatCpuPer1000, 2)} CPU-s/1000`, f(x.ratioVsKcat, 2)]);
    }
    const shipped = p.ratios.find((x) => x.variant?.startsWith('kafkajs as shipped'));
    if (shipped) row('producer', [`publish, ${listenerName[shipped.listener]}, 1 camera, \`reliable\`, kafkajs as shipped (fast path off)`, `${f(shipped.framelineFps)} frames/s, ${f(shipped.framelineCpuPer1000, 2)} CPU-s/1000 frames`, `\`kcat -P\`: ${f(shipped.kcatFps)} frames/s`, f(shipped.ratioVsKcat, 2)]);
  }
  const i = benches.inference;
  if (i?.cloudBatch1?.available) {
    const c = i.ceiling['full-b1'];
    row('inference', [`inference, cloud path (consume → decode → infer → publish), BlazePose full, detector on every frame, by frames per CPU-second`, `${f(i.cloudBatch1.cpuMsPerInferredFrame)} CPU ms/frame`, `bare onnxruntime-node loop, same models and steps: ${f(c?.cpuMsPerFrame)} CPU ms/frame`, f(c?.cpuMsPerFrame / i.cloudBatch1.cpuMsPerInferredFrame, 2)]);
    if (i.pythonOnnx?.available) row('inference', [`inference, the same work in Python (kafka-python, OpenCV, onnxruntime), by frames per CPU-second`, `frameline ${f(i.cloudBatch1.cpuMsPerInferredFrame)} CPU ms/frame`, `Python: ${f(i.pythonOnnx.cpuMsPerInferredFrame)} CPU ms/frame`, `${f(i.pythonOnnx.cpuMsPerInferredFrame / i.cloudBatch1.cpuMsPerInferredFrame, 2)} (frameline ÷ Python cost)`]);
  }
  const t = benches.tracking;
  if (t?.after) row('tracking', [`pose tracking (ROIs from the previous landmarks), same frames, by frames per CPU-second`, `${f(t.after.msPerFrame)} CPU ms/frame, ${f(t.after.personsPerFrame, 2)} persons/frame`, `detector on every frame: ${f(t.before.msPerFrame)} CPU ms/frame, ${f(t.before.personsPerFrame, 2)} persons/frame`, f(t.speedUp, 2)]);
  const [every, tracked] = [t?.service?.rows?.[0]?.r, t?.service?.rows?.[1]?.r];
  if (every && tracked) {
    const perCam = (r) => Object.values(r.perCameraFramesPerSec).map((v) => f(v, 2)).join(', ');
    row('tracking', [`pose tracking in the real service (demo setting: 3 cameras × 10 fps, BlazePose full), inferred frames/s per camera`, `${perCam(tracked)}; ${f(tracked.personsPerFrame, 2)} persons/frame; capture → result p50 ${f(tracked.latencyAllMs?.p50)} ms`, `detector on every frame: ${perCam(every)}; ${f(every.personsPerFrame, 2)} persons/frame; p50 ${f(every.latencyAllMs?.p50)} ms`, f(t.service.ratio, 2)]);
  }
  for (const sh of t?.skeletonShare ?? []) {
    const [det, trk] = ['detector', 'tracking'].map((m) => sh.rows.find((r) => r.mode === m));
    if (det && trk) row('tracking', [`visible people with a skeleton (${sh.truth.visible} hand-read people on ${sh.truth.frames} vtest frames), BlazePose ${sh.variant}, with tracking`, `${trk.matched}/${trk.visible} (${f(100 * trk.share)} %), whole people ${f(100 * trk.wholeShare)} %, ${trk.falseSkeletons} false skeletons`, `detector on every frame: ${det.matched}/${det.visible} (${f(100 * det.share)} %), whole ${f(100 * det.wholeShare)} %, ${det.falseSkeletons} false`, f(trk.share / det.share, 2)]);
  }
  for (const r of benches.latency?.runs ?? []) {
    row('latency', [`end to end, ${r.cameras} cameras × ${r.fps} fps, \`${r.mode}\`, capture → inference record p50 / p99`, `${f(r.captureToInferenceMs?.p50)} / ${f(r.captureToInferenceMs?.p99)} ms (${f(r.inferredPerSec, 1)} of ${r.offeredPerSec} frames/s inferred)`, `maxLagMs ${r.maxLagMs} ms`, f(r.captureToInferenceMs?.p99 / r.maxLagMs, 2)]);
  }
  const sc = benches.scale;
  if (sc?.runs) {
    const last = sc.runs[sc.runs.length - 1];
    row('scale', [`scale, cameras × 5 fps until the p99 age passes maxLagMs`, `${sc.sustainedCameras} camera(s) sustained; ${f((last.cpuCoresCloud + last.cpuCoresAgents) / last.cameras, 2)} CPU cores per camera at ${last.cameras}`, `maxLagMs ${sc.maxLagMs} ms`, '']);
  }
  const lag = benches.lag;
  if (lag?.series) {
    const [fl, seed] = [lag.series.frameline, Object.entries(lag.series).find(([k]) => k !== 'frameline')?.[1]];
    if (fl && seed) row('lag', [`lag slope, ${lag.cameras} × ${lag.fps} fps, model ${lag.msPerFrame} ms/frame (slower than the cameras)`, `${f(fl.slope, 3)} s of age per s, ${f(fl.lastAgeMs / 1000, 1)} s at the end`, `the second seed's design (every frame queued): ${f(seed.slope, 3)} s/s, ${f(seed.lastAgeMs / 1000, 1)} s`, '']);
  }
  if (rows.length === 0) return [];
  return ['## Summary', '', '| stage | frameline | baseline (same invocation) | ratio |', '|---|---|---|---|', ...rows.map((r) => `| ${r.join(' | ')} |`), ''];
}
