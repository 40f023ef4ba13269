// Precomputes the real pose pipeline's output over a stretch of vtest.mp4
// (people walking) for the analysis tests: node cloud/scripts/vtest-keypoints.mjs
// Writes cloud/test/fixtures/vtest-poses.json: per frame its seq, capture time
// (from the frame rate) and persons ([x, y, visibility] per BlazePose landmark,
// in the 768x576 frame's pixels). Needs `npx tsc -b cloud` and the converted models.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';
import { createPoseModel, decodeJpeg } from '../dist/src/inference/index.js';

const START_S = 10;
const FPS = 5;
const FRAMES = 80;
const video = fileURLToPath(new URL('../../agent/test/fixtures/vtest.mp4', import.meta.url));
const out = fileURLToPath(new URL('../test/fixtures/vtest-poses.json', import.meta.url));

const ff = spawnSync('ffmpeg', ['-v', 'error', '-ss', String(START_S), '-i', video, '-vf', `fps=${FPS}`, '-frames:v', String(FRAMES), '-q:v', '3', '-f', 'image2pipe', '-c:v', 'mjpeg', '-'], { maxBuffer: 1 << 28 });
if (ff.status !== 0) throw new Error(`ffmpeg failed: ${ff.stderr}`);
const jpegs = [];
for (let at = 0, buf = ff.stdout; at < buf.length;) {
  const end = buf.indexOf(Buffer.from([0xff, 0xd9]), at) + 2;
  jpegs.push(buf.subarray(at, end));
  at = end;
}
const model = await createPoseModel({ kind: 'blazepose', variant: 'full', detector: { mode: 'tiled' } }, createLogger({ level: 'warn' }));
const frames = [];
const t0 = Date.now();
for (const [seq, jpeg] of jpegs.entries()) {
  const image = await decodeJpeg(jpeg);
  const [result] = await model.infer([image]);
  frames.push({
    seq,
    capturedAt: Math.round((seq * 1000) / FPS),
    persons: result.persons.map((p) => ({
      box: p.box.map((v) => Math.round(v * 10) / 10),
      score: Math.round(p.score * 1000) / 1000,
      keypoints: p.keypoints.map((k) => [Math.round(k.x * 10) / 10, Math.round(k.y * 10) / 10, Math.round(k.visibility * 1000) / 1000]),
    })),
  });
  process.stderr.write(`frame ${seq}: ${result.persons.length} persons\n`);
}
await model.close();
writeFileSync(out, JSON.stringify({
  source: `agent/test/fixtures/vtest.mp4 from ${START_S} s, ${FPS} fps, ${FRAMES} frames; BlazePose full, tiled detector (cloud/scripts/vtest-keypoints.mjs)`,
  width: 768, height: 576, frames,
}) + '\n');
console.error(`wrote ${out}: ${frames.length} frames in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
