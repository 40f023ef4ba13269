#!/usr/bin/env node
// Builds cloud/models/centernet.onnx (COCO object detector, used as the
// multi-person detector, see cloud/models/README.md) from the TensorFlow.js
// graph model in the @vladmandic/human npm package, with the project's own
// converter (cloud/src/inference/tfjs). Run after `tsc -b`:
//
//   node cloud/scripts/convert-tfjs-models.mjs [--force]
//
// The package directory is found like an import would (dependency of
// @frameline/cloud) or taken from $HUMAN_PACKAGE_DIR (an unpacked
// `npm pack @vladmandic/human`). Idempotent: skipped when the .onnx is newer
// than the model files and the compiled converter.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cloudDir = join(here, '..');
const modelsDir = join(cloudDir, 'models');
const converterDir = join(cloudDir, 'dist', 'src', 'inference', 'tfjs');

const MODELS = {
  centernet: {
    json: 'centernet.json',
    docString:
      'CenterNet (MobileNetV3 backbone, COCO 80 classes, 512x512) from the npm package @vladmandic/human@VERSION ' +
      'models/centernet.json + centernet.bin (package license MIT; model trained by github.com/610265158/mobilenetv3_centernet), ' +
      'converted by frameline tfjs2onnx. See cloud/models/README.md and NOTICE.',
  },
};

function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

function newestConverterMtime() {
  if (!existsSync(converterDir)) throw new Error(`converter not built: run "npx tsc -b cloud" first (${converterDir} missing)`);
  const dirs = [converterDir, join(converterDir, '..', 'tflite')];
  return Math.max(...dirs.flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.js')).map((f) => mtime(join(d, f)))));
}

async function main() {
  const force = process.argv.includes('--force');
  mkdirSync(modelsDir, { recursive: true });
  const { convertTfjs, findHumanPackage } = await import(pathToFileURL(join(converterDir, 'index.js')).href);
  const pkgDir = findHumanPackage(cloudDir);
  if (!pkgDir) throw new Error('@vladmandic/human is not installed (a dependency of @frameline/cloud: run npm ci), or set HUMAN_PACKAGE_DIR');
  const version = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')).version;
  const converterTime = newestConverterMtime();
  for (const [name, spec] of Object.entries(MODELS)) {
    const jsonPath = join(pkgDir, 'models', spec.json);
    const model = JSON.parse(readFileSync(jsonPath, 'utf8'));
    const shards = model.weightsManifest.flatMap((g) => g.paths.map((p) => join(dirname(jsonPath), p)));
    const dest = join(modelsDir, `${name}.onnx`);
    const srcTime = Math.max(mtime(jsonPath), ...shards.map(mtime), converterTime);
    if (!force && mtime(dest) > srcTime) {
      console.log(`${name}.onnx up to date`);
      continue;
    }
    const started = Date.now();
    const weights = Buffer.concat(shards.map((p) => readFileSync(p)));
    const onnx = convertTfjs(model, new Uint8Array(weights), { docString: spec.docString.replace('VERSION', version) });
    writeFileSync(dest, onnx);
    console.log(`${spec.json} -> ${dest} (${(onnx.length / 1e6).toFixed(1)} MB, ${Date.now() - started} ms)`);
  }
}

main().catch((err) => {
  console.error(`convert-tfjs-models: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
