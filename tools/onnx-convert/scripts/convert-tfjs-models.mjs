#!/usr/bin/env node
// Builds centernet.onnx (COCO object detector, used as the multi-person
// detector, see cloud/models/README.md; cloud/models by default) from the
// TensorFlow.js graph model in the @vladmandic/human npm package, with the
// project's own converter (src/tfjs). Run after `tsc -b`:
//
//   node tools/onnx-convert/scripts/convert-tfjs-models.mjs [--force] [--out DIR]
//
// The package directory is found like an import would (dependency of
// @frameline/onnx-convert) or taken from $HUMAN_PACKAGE_DIR (an unpacked
// `npm pack @vladmandic/human`). Idempotent: skipped when the .onnx is newer
// than the model files and the compiled converter.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TOOL_DIR, loadConverter, mtime, newestConverterMtime, outputDir } from './build-info.mjs';

const MODELS = {
  centernet: {
    json: 'centernet.json',
    docString:
      'CenterNet (MobileNetV3 backbone, COCO 80 classes, 512x512) from the npm package @vladmandic/human@VERSION ' +
      'models/centernet.json + centernet.bin (package license MIT; model trained by github.com/610265158/mobilenetv3_centernet), ' +
      'converted by frameline tfjs2onnx. See cloud/models/README.md and NOTICE.',
  },
};

async function main() {
  const force = process.argv.includes('--force');
  const modelsDir = outputDir(process.argv);
  mkdirSync(modelsDir, { recursive: true });
  const { convertTfjs, findHumanPackage } = await loadConverter();
  const pkgDir = findHumanPackage(TOOL_DIR);
  if (!pkgDir) throw new Error('@vladmandic/human is not installed (a dependency of @frameline/onnx-convert: run npm ci), or set HUMAN_PACKAGE_DIR');
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
