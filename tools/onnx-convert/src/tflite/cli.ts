#!/usr/bin/env node
/// <reference types="node" />
/**
 * Usage: node tools/onnx-convert/dist/src/tflite/cli.js in.tflite out.onnx [--static-batch]
 * Converts one TFLite model to ONNX with the project's own converter.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { convertTflite } from './convert.js';

function main(argv: string[]): number {
  const args = argv.filter((a) => !a.startsWith('--'));
  const [input, output] = args;
  if (!input || !output) {
    process.stderr.write('usage: cli.js in.tflite out.onnx [--static-batch]\n');
    return 2;
  }
  const started = Date.now();
  const onnx = convertTflite(readFileSync(input), { dynamicBatch: !argv.includes('--static-batch') });
  writeFileSync(output, onnx);
  process.stdout.write(`${input} -> ${output} (${(onnx.length / 1e6).toFixed(1)} MB, ${Date.now() - started} ms)\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`tflite2onnx: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}
