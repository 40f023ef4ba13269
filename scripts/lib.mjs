// Install-what-you-need steps shared by `npm start` (scripts/demo.mjs) and
// `npm test` (scripts/test.mjs). Plain Node with no dependencies, because
// they run before `npm install` on a fresh machine. Each step is idempotent.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export function sh(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: ROOT, ...options });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
  return r;
}

export function step(title) {
  console.error(`\n==> ${title}`);
}

function has(bin) {
  return spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;
}

/** Debian packages: the JVM and Maven for the broker, kcat for interop tests, ffmpeg for video replay, chromium for the dashboard test. */
export function ensureDebianPackages(wanted) {
  const missing = Object.entries(wanted).filter(([bin]) => !has(bin)).map(([, pkg]) => pkg);
  if (missing.length === 0) return;
  step(`installing Debian packages: ${missing.join(' ')}`);
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  sh(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'update', '-qq']);
  sh(sudo[0] ?? 'apt-get', [...sudo.slice(1), ...(sudo.length ? ['apt-get'] : []), 'install', '-y', '-qq', '--no-install-recommends', ...missing], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

export function ensureNodeModules() {
  const lock = join(ROOT, 'package-lock.json');
  const marker = join(ROOT, 'node_modules/.package-lock.json');
  if (existsSync(marker) && statSync(marker).mtimeMs >= statSync(lock).mtimeMs) return;
  step('installing npm packages (npm ci)');
  sh('npm', ['ci', '--no-audit', '--no-fund']);
}

export function build() {
  step('type-checking and building (tsc -b)');
  sh('npx', ['tsc', '-b']);
  step('converting the pose models to ONNX (skipped when up to date)');
  // Build-time tool (tools/onnx-convert) writing the models @frameline/cloud loads.
  sh(process.execPath, [join(ROOT, 'tools/onnx-convert/scripts/convert-models.mjs'), '--out', join(ROOT, 'cloud/models')]);
  sh(process.execPath, [join(ROOT, 'tools/onnx-convert/scripts/convert-tfjs-models.mjs'), '--out', join(ROOT, 'cloud/models')]);
}

export function kafka(args, env) {
  return sh('bash', [join(ROOT, 'deploy/kafka/kafka.sh'), ...args], { env: { ...process.env, ...env } });
}

export function kafkaRunning(env) {
  return spawnSync('bash', [join(ROOT, 'deploy/kafka/kafka.sh'), 'status'], { stdio: 'ignore', env: { ...process.env, ...env } }).status === 0;
}

export const MOTO_VENV = join(ROOT, '.cache/venv-moto');
/** Pinned emulator and CLI; test/support/moto.ts checks the same list and marker. */
const MOTO_REQUIREMENTS = ['moto[server]==5.2.5', 'awscli==1.46.3'];

/** moto's AWS API emulator (EC2, IAM, S3, SSM, STS) and the AWS CLI for the deploy tests, in one venv under .cache/. */
export function ensureMoto() {
  const marker = join(MOTO_VENV, '.frameline-requirements');
  const wanted = MOTO_REQUIREMENTS.join('\n');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return;
  step(`installing ${MOTO_REQUIREMENTS.join(' ')} into .cache/venv-moto (PyPI)`);
  if (spawnSync('python3', ['-m', 'venv', '--clear', MOTO_VENV], { stdio: 'ignore' }).status !== 0) {
    // Debian ships venv's pip bootstrap as python3-venv, which has no command of its own to look for.
    ensureDebianPackages({ [join(MOTO_VENV, 'bin/pip')]: 'python3-venv' });
    sh('python3', ['-m', 'venv', '--clear', MOTO_VENV]);
  }
  sh(join(MOTO_VENV, 'bin/pip'), ['install', '-q', '--disable-pip-version-check', ...MOTO_REQUIREMENTS]);
  writeFileSync(marker, wanted);
}
