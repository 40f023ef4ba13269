// Markdown of bench/inference.mjs's like-for-like rows. Every row names the
// ceiling row it is divided by; all ran in the same invocation.
const f = (x, d = 0) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));

export function inferenceMarkdown(r) {
  const c = r.ceiling;
  const offered = r.cameras * r.fps;
  const md = [
    `## Inference, like for like: BlazePose on ${r.frame} frames of vtest.mp4 (avg ${Math.round(r.avgFrameBytes / 1024)} KiB), ${r.cores} cores`, '',
    'Same ONNX files, same multi-person steps everywhere (BlazePose detector over 12 overlapping 256 px tiles + the letterboxed frame in one batched run, weighted NMS, a rotated ROI per person, the landmark model on up to 8 persons in one batched run, presence ≥ 0.5, duplicates dropped; detector on every frame), except the MediaPipe row. ' +
      `**Ceiling**: a bare onnxruntime-node loop (bench/inference-ceiling.mjs) over ${r.ceilingFrames} already decoded frames per worker, one worker thread per core with one intra-op thread each (the service's parallelism), no Kafka. ` +
      `**Pipelines**: ${r.cameras} cameras × ${r.fps} fps (${offered} frames/s offered, more than any of them infers here) for ${r.seconds} s, produced by user agent over EXTERNAL; inferred frames/s in that window is each pipeline's capacity. ` +
      'frameline skips frames older than maxLagMs (1 s) by design; the Python pipelines infer every frame in order, as the second seed does. ' +
      'ms/frame: model time per frame (a batch\'s time ÷ its frames; Python: decode + model). CPU ms/frame: the process\'s utime + stime over the timed phase ÷ frames inferred, which is what compares on a shared machine. Latency: capture to result, all frames of the run.', '',
    '| row | baseline (same run) | frames/s | **ratio** (frames/s) | CPU ms / frame | ratio (frames per CPU-s) | persons / frame | ms / frame p50 / p99 | capture → result ms p50 / p99 |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const row = (name, base, x, baseRow, latency) => {
    const cpu = x?.cpuMsPerFrame ?? x?.cpuMsPerInferredFrame;
    const baseCpu = baseRow?.cpuMsPerFrame;
    md.push(`| ${name} | ${base} | ${f(x?.framesPerSec, 2)} | **${baseRow ? f(x?.framesPerSec / baseRow.framesPerSec, 2) : '1.00'}** | ${f(cpu)} | ${baseRow ? f(baseCpu / cpu, 2) : '1.00'} | ${f(x?.personsPerFrame, 2)} | ${f(x?.msPerFrame?.p50)} / ${f(x?.msPerFrame?.p99)} | ${latency ?? '–'} |`);
  };
  const lat = (x) => `${f(x.latencyAllMs?.p50)} / ${f(x.latencyAllMs?.p99)}`;
  row('ceiling: bare onnxruntime-node loop, **lite**, batch 1', '—', c['lite-b1']);
  row('ceiling: bare onnxruntime-node loop, **full**, batch 1', '—', c['full-b1']);
  row(`ceiling: bare onnxruntime-node loop, full, batch ${r.cameras}`, '—', c[`full-b${r.cameras}`]);
  const pipe = (name, base, x, baseRow, latency = true) => {
    if (!x?.available) md.push(`| ${name} | ${base} | failed: ${String(x?.error ?? 'not run').split('\n')[0].replace(/\|/g, '/')} | | | | | | |`);
    else row(name, base, x, baseRow, latency ? lat(x) : undefined);
  };
  if (r.pythonBare) pipe('Python bare loop: onnxruntime 1.30 (Python) + OpenCV, same models and steps, the ceiling\'s frames, one process, default threads', 'ceiling full, batch 1 (same frames: persons/frame should agree)', r.pythonBare, c['full-b1'], false);
  pipe('frameline cloud path (consume → decode → infer → publish), full, scheduler.maxBatch 1', 'ceiling full, batch 1', r.cloudBatch1, c['full-b1']);
  pipe(`frameline cloud path, full, cross-camera batches (maxBatch ${r.cameras}; mean batch ${f(r.cloudBatched?.meanBatch, 1)})`, `ceiling full, batch ${r.cameras}`, r.cloudBatched, c[`full-b${r.cameras}`]);
  pipe('Python a user would write: kafka-python + OpenCV + onnxruntime 1.30 (Python), same models and steps, every frame in order', 'ceiling full, batch 1', r.pythonOnnx, c['full-b1']);
  pipe('the second seed as it stands: kafka-python + OpenCV + MediaPipe Pose 0.10.14 full — **less work**: one person per frame, tracking', 'ceiling full, batch 1', r.seed, c['full-b1']);
  md.push('');
  const b1 = r.cloudBatch1;
  const py = r.pythonOnnx;
  if (b1?.available && py?.available) {
    md.push(`frameline's cloud path infers **${f(b1.framesPerSec / py.framesPerSec, 2)}×** the frames/s of the Python pipeline doing the same work (${f(py.cpuMsPerInferredFrame / b1.cpuMsPerInferredFrame, 2)}× by frames per CPU-second), ` +
      `with capture → result p99 ${f(b1.latencyAllMs?.p99)} ms against ${f(py.latencyAllMs?.p99)} ms (the Python pipeline queues every frame, so its latency grows with the run).`);
  }
  if (r.seed?.available) md.push('', `The seed's MediaPipe Pose looks for one person per frame and tracks it between frames; it found ${f(r.seed.personsPerFrame, 2)} persons per frame in this scene of several small people, where the like-for-like rows find about ${f(c['full-b1']?.personsPerFrame, 1)}. Its frames/s measure less work and are not comparable.`);
  if (b1?.available) {
    const skipped = Object.entries(b1.skippedByReason ?? {}).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
    md.push('', `Frames the cloud skipped at batch 1 (offered ${offered}/s, more than it infers): ${skipped}.`);
  }
  md.push('');
  return md;
}
