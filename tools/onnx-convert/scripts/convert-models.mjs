#!/usr/bin/env node
// Builds the BlazePose ONNX models (cloud/models/*.onnx by default) from the
// TFLite models in the @mediapipe/pose npm package, with the project's own
// converter (src/tflite). Run after `tsc -b`:
//
//   node tools/onnx-convert/scripts/convert-models.mjs [--force] [--out DIR] [model ...]
//
// Idempotent: a model is skipped when its .onnx is newer than both its
// .tflite and the compiled converter. The ONNX files are build outputs and
// are not committed (see cloud/models/.gitignore and README.md).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { TOOL_DIR, loadConverter, mtime, newestConverterMtime, outputDir } from './build-info.mjs';

/** Directory of the installed @mediapipe/pose package (resolved like an import would). */
function posePackageDir() {
  const require = createRequire(join(TOOL_DIR, 'package.json'));
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

async function main() {
  const args = process.argv.slice(2);
  const force = args.includes('--force');
  const modelsDir = outputDir(args);
  const only = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--out');
  mkdirSync(modelsDir, { recursive: true });

  const converterTime = newestConverterMtime();
  const { convertTflite, extractPackedFile } = await loadConverter();
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
    console.log(`converted ${name}.tflite -> ${dst} (${(onnx.length / 1e6).toFixed(1)} MB, ${Date.now() - started} ms)`);
  }
}

main().catch((err) => {
  console.error(`convert-models: ${err.message}`);
  process.exitCode = 1;
});
