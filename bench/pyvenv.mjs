// The bench's Python: a venv under .cache/bench-pyvenv (gitignored) with
// bench/python/requirements-producer.txt (kafka-python, matplotlib, onnxruntime, opencv), installed
// once and again whenever that file changes.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Returns the venv's python; throws with pip's own error when it cannot be installed. */
export async function ensurePyVenv(root) {
  const venv = join(root, '.cache/bench-pyvenv');
  const python = join(venv, 'bin/python');
  const requirements = join(root, 'bench/python/requirements-producer.txt');
  const stamp = join(venv, '.frameline-requirements');
  const wanted = readFileSync(requirements, 'utf8');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === wanted) return python;
  console.log(`installing the bench's Python packages into ${venv} (kafka-python, matplotlib, onnxruntime, opencv)...`);
  if (!existsSync(python)) execFileSync(process.env.BENCH_PYTHON ?? 'python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet', '-r', requirements], { stdio: 'inherit' });
  writeFileSync(stamp, wanted);
  return python;
}
