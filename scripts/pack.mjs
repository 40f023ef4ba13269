// `npm run pack:agent`: a self-contained release tarball of one service for
// one platform, default linux-arm64 (a 64-bit Raspberry Pi). It holds the
// compiled JS, production dependencies only (native prebuilts for the target
// platform, chosen through npm's --os/--cpu/--libc), the systemd unit, the
// example config and the install script, so the target needs Node.js and
// nothing else: no compiler, no npm.
//
//   node scripts/pack.mjs agent [--cpu arm64|x64] [--out DIR] [--no-build]
//
// Dependency versions come from the repository's package-lock.json (npm ci),
// files are sorted and stamped with the last commit's time, so packing the
// same commit twice gives the same bytes.
import { spawnSync } from 'node:child_process';
import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT, sh, step } from './lib.mjs';

/** What goes into each release besides the package's own dist/src and bin/. */
const SERVICES = {
  agent: {
    workspace: 'agent',
    deploy: ['deploy/systemd/frameline-agent.service', 'config/agent.example.json', 'deploy/pi/install.sh'],
    extra: [],
  },
  // The consumer hosts Terraform provisions: the converted ONNX models and the dashboard's files travel with it.
  cloud: {
    workspace: 'cloud',
    deploy: ['deploy/systemd/frameline-cloud.service', 'config/cloud.example.json'],
    extra: ['models', 'web'],
  },
};
/** Workspace packages a release may contain, copied in as real folders. */
const WORKSPACES = { '@frameline/shared': 'shared', '@frameline/agent': 'agent', '@frameline/cloud': 'cloud' };

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { cpu: { type: 'string', default: 'arm64' }, out: { type: 'string', default: join(ROOT, 'dist/release') }, 'no-build': { type: 'boolean' } },
});
const service = positionals[0];
if (!service || !(service in SERVICES)) {
  console.error(`usage: node scripts/pack.mjs ${Object.keys(SERVICES).join('|')} [--cpu arm64|x64] [--out DIR] [--no-build]`);
  process.exit(64);
}
const spec = SERVICES[service];
const cpu = values.cpu;
const pkg = JSON.parse(readFileSync(join(ROOT, spec.workspace, 'package.json'), 'utf8'));
const name = `frameline-${service}-${pkg.version}-linux-${cpu}`;

if (!values['no-build']) sh('npx', ['tsc', '-b']);

const work = mkdtempSync(join(tmpdir(), `fl-pack-${service}-`));
try {
  step(`installing production dependencies of ${pkg.name} for linux-${cpu} (npm ci from package-lock.json)`);
  // A copy of the workspace manifests: npm ci resolves exactly the lockfile's
  // versions, and only for this one workspace, without touching the checkout.
  cpSync(join(ROOT, 'package.json'), join(work, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(work, 'package-lock.json'));
  for (const dir of Object.values(WORKSPACES)) {
    mkdirSync(join(work, dir));
    cpSync(join(ROOT, dir, 'package.json'), join(work, dir, 'package.json'));
  }
  sh('npm', ['ci', '--omit=dev', `--workspace=${pkg.name}`, '--os=linux', `--cpu=${cpu}`, '--libc=glibc', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });

  const release = join(work, 'out', name);
  mkdirSync(release, { recursive: true });
  copyPackage(join(ROOT, spec.workspace), release, spec.extra);
  writeFileSync(join(release, 'package.json'), `${JSON.stringify(releaseManifest(pkg), null, 2)}\n`);
  copyNodeModules(join(work, 'node_modules'), join(release, 'node_modules'), pkg, cpu);
  mkdirSync(join(release, 'deploy'));
  for (const file of spec.deploy) cpSync(join(ROOT, file), join(release, 'deploy', basename(file)));
  writeFileSync(join(release, 'RELEASE.json'), `${JSON.stringify({ name: pkg.name, version: pkg.version, os: 'linux', cpu, libc: 'glibc', node: '>=20', commit: gitCommit() }, null, 2)}\n`);

  mkdirSync(values.out, { recursive: true });
  const tarball = join(values.out, `${name}.tar.gz`);
  step(`writing ${tarball}`);
  // GNU tar: sorted names, fixed owner and time; gzip -n leaves out the name and time.
  const tar = spawnSync('sh', ['-c', 'tar --sort=name --mtime="@$EPOCH" --owner=0 --group=0 --numeric-owner --mode=u+rwX,go=rX -cf - "$NAME" | gzip -9n > "$TARBALL"'], {
    cwd: join(work, 'out'),
    stdio: 'inherit',
    env: { ...process.env, EPOCH: commitTime(), NAME: name, TARBALL: tarball },
  });
  if (tar.status !== 0) throw new Error(`tar failed (exit ${tar.status})`);
  const sha256 = await fileSha256(tarball);
  writeFileSync(`${tarball}.sha256`, `${sha256}  ${basename(tarball)}\n`);
  console.log(`${tarball}\n  ${(statSync(tarball).size / 1048576).toFixed(1)} MiB, sha256 ${sha256}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

/** The package's runtime files: bin/, dist/src without type declarations and source maps, and any extra folders. */
function copyPackage(from, to, extra) {
  if (existsSync(join(from, 'bin'))) cpSync(join(from, 'bin'), join(to, 'bin'), { recursive: true });
  cpSync(join(from, 'dist/src'), join(to, 'dist/src'), { recursive: true, filter: runtimeFile });
  // Not shipped: the converters' TFLite inputs, and CenterNet, whose weights carry no upstream licence (opt-in, see cloud/models/README.md).
  const shipped = (p) => !/\.tflite$|centernet\.onnx$/.test(p);
  for (const dir of extra) if (existsSync(join(from, dir))) cpSync(join(from, dir), join(to, dir), { recursive: true, filter: shipped });
}

function runtimeFile(path) {
  if (/\.d\.ts$|\.map$|\.tsbuildinfo$/.test(path)) return false;
  // test support (a broker runner) is not part of any release
  return !/[/\\]testing([/\\]|$)/.test(path);
}

/** package.json as installed: no dev dependencies, no workspace-only fields. */
function releaseManifest(manifest) {
  const { devDependencies: _dev, ...rest } = manifest;
  return { ...rest, engines: { node: '>=20' } };
}

/** onnxruntime-node ships its native binding for every OS and CPU (about 300 MB): a release keeps linux/<cpu>. */
function foreignBinding(path, cpu) {
  const m = /onnxruntime-node[/\\]bin[/\\]napi-v\d+[/\\](.+)$/.exec(path);
  if (!m) return false;
  const [os, arch] = m[1].split(/[/\\]/);
  return os !== 'linux' || (arch !== undefined && arch !== cpu);
}

/**
 * node_modules from the staging install: npm links workspace packages, so
 * those are replaced with real copies of their built files; the service's own
 * link and any other workspace are dropped.
 */
function copyNodeModules(from, to, manifest, cpu) {
  cpSync(from, to, { recursive: true, verbatimSymlinks: true, filter: (p) => !Object.keys(WORKSPACES).some((w) => p === join(from, w)) && !['.package-lock.json', '.bin'].includes(basename(p)) && !foreignBinding(p, cpu) });
  for (const dep of Object.keys(manifest.dependencies ?? {}).filter((d) => d in WORKSPACES)) {
    const dir = WORKSPACES[dep];
    const target = join(to, dep);
    // shared/topics.json: the topic names shared reads at run time
    copyPackage(join(ROOT, dir), target, ['topics.json']);
    const own = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8'));
    const exports = Object.fromEntries(Object.entries(own.exports ?? {}).filter(([key]) => key !== './testing'));
    writeFileSync(join(target, 'package.json'), `${JSON.stringify({ ...releaseManifest(own), exports }, null, 2)}\n`);
  }
}

function gitCommit() {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

/** SOURCE_DATE_EPOCH when set, else the last commit's time. */
function commitTime() {
  if (process.env.SOURCE_DATE_EPOCH) return process.env.SOURCE_DATE_EPOCH;
  const r = spawnSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '0';
}

function fileSha256(file) {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (d) => hash.update(d)).on('end', () => resolve(hash.digest('hex'))).on('error', reject);
  });
}
