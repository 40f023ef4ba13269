// What both conversion scripts share: where the compiled converter and the
// output folder are, and the timestamps that make a conversion skippable.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const TOOL_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
const COMPILED = join(TOOL_DIR, 'dist', 'src');

/** `--out DIR` (relative to the working directory), else the cloud package's models folder, which @frameline/cloud loads at run time. */
export function outputDir(argv) {
  const i = argv.indexOf('--out');
  if (i >= 0 && argv[i + 1]) return argv[i + 1];
  return join(TOOL_DIR, '..', '..', 'cloud', 'models');
}

export function mtime(path) {
  return existsSync(path) ? statSync(path).mtimeMs : 0;
}

/** Newest compiled converter file: a converted model older than this is rebuilt. */
export function newestConverterMtime() {
  if (!existsSync(COMPILED)) throw new Error(`converter not built: run "npx tsc -b tools/onnx-convert" first (${COMPILED} missing)`);
  const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.js') ? [mtime(join(dir, e.name))] : []));
  return Math.max(...walk(COMPILED));
}

export function loadConverter() {
  return import(pathToFileURL(join(COMPILED, 'index.js')).href);
}
