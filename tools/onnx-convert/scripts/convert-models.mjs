#!/usr/bin/env node
// Builds cloud/models/*.onnx from the BlazePose TFLite models in the
// @mediapipe/pose npm package, with the project's own converter
// (cloud/src/inference/tflite). Run after `tsc -b`:
//
//   node cloud/scripts/convert-models.mjs [--force] [model ...]
//
// Idempotent: a model is skipped when its .onnx is newer than both its
// .tflite and the compiled converter. The ONNX files are build outputs and
// are not committed (see cloud/models/.gitignore and README.md).
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cloudDir = join(here, '..');
const modelsDir = join(cloudDir, 'models');
const converterDir = join(cloudDir, 'dist', 'src', 'inference', 'tflite');

/** Directory of the installed @mediapipe/pose package (resolved like an import would). */
function posePackageDir() {
  const require = createRequire(join(cloudDir, 'package.json'));
  return dirname(require.resolve('@mediapipe/pose/package.json'));
}

/** The person detector is only inside the package's Emscripten packed data file. */
function extractPackedDetector(pkgDir, dest, extractPackedFile) {
  const loader = readFileSync(join(pkgDir, 'pose_solution_packed_assets_loader.js'), 'utf8');
  const data = readFileSync(join(pkgDir, 'pose_solution_packed_assets.data'));
  const tflite = Buffer.from(extractPackedFile(loader, data, 'pose_detection.tflite'));
  if (tflite.subarray(4, 8).toString('latin1') !== 'TFL3') throw new Error('extracted pose_detection.tflite is not a TFLite file');
  writeIfChanged(dest, tflite);
  return dest;
}

function writeIfChanged(path, bytes) {
  if (existsSync(path) && readFileSync(path).equals(bytes)) return;
  writeFileSync(path, bytes);
}

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

function newestConverterMtime() {
  if (!existsSync(converterDir)) throw new Error(`converter not built: run "npx tsc -b cloud" first (${converterDir} missing)`);
  return Math.max(...readdirSync(converterDir).filter((f) => f.endsWith('.js')).map((f) => mtime(join(converterDir, f))));
}

async function main() {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const only = args.filter((a) => !a.startsWith('--'));
  mkdirSync(modelsDir, { recursive: true });

  const converterTime = newestConverterMtime();
  const { convertTflite, extractPackedFile } = await import(pathToFileURL(join(converterDir, 'index.js')).href);
  const pkgDir = posePackageDir();
  const sources = {
    pose_detection: extractPackedDetector(pkgDir, join(modelsDir, 'pose_detection.tflite'), extractPackedFile),
    pose_landmark_lite: join(pkgDir, 'pose_landmark_lite.tflite'),
    pose_landmark_full: join(pkgDir, 'pose_landmark_full.tflite'),
    pose_landmark_heavy: join(pkgDir, 'pose_landmark_heavy.tflite'),
  };
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;

  for (const [name, src] of Object.entries(sources)) {
    if (only.length > 0 && !only.includes(name)) continue;
    const dst = join(modelsDir, `${name}.onnx`);
    const upToDate = mtime(dst) > Math.max(mtime(src), converterTime);
    if (upToDate && !force) {
      console.log(`up to date: ${name}.onnx`);
      continue;
    }
    const started = Date.now();
    const onnx = convertTflite(readFileSync(src), {
      docString: `Converted from @mediapipe/pose@${version} ${name}.tflite (Apache-2.0, see cloud/models/NOTICE)`,
    });
    writeFileSync(dst, onnx);
    console.log(`converted ${name}.tflite -> models/${name}.onnx (${(onnx.length / 1e6).toFixed(1)} MB, ${Date.now() - started} ms)`);
  }
}

main().catch((err) => {
  console.error(`convert-models: ${err.message}`);
  process.exitCode = 1;
});
