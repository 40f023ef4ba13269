// A real Debian root for install tests: Debian trixie (nodejs 20.x) made by
// debootstrap once and cached outside the clone, so fresh clones reuse it.
// arm64 under qemu-user emulation when binfmt_misc allows it (the Pi's own
// architecture), the machine's own amd64 otherwise. Each test gets a
// throwaway overlay on top of the cached root, so the cache stays pristine.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

const SUITE = 'trixie';
const MIRROR = 'http://deb.debian.org/debian';
/** Bumped when the package list changes, so old caches are not reused. */
const ROOT_VERSION = 1;
const QEMU_AARCH64 = '/usr/lib/binfmt.d/qemu-aarch64.conf';
const BINFMT = '/proc/sys/fs/binfmt_misc';

export type DebianArch = 'arm64' | 'amd64';

export interface Outcome { code: number; stdout: string; stderr: string }

export interface DebianRoot {
  arch: DebianArch;
  /** npm's name of the architecture, for `scripts/pack.mjs --cpu`. */
  cpu: 'arm64' | 'x64';
  /** The overlay's merged view: what the chroot sees as /. */
  dir: string;
  /** The cached root under the overlay, never written. */
  lower: string;
  /** The overlay's upper layer: every file changed or added inside the chroot. */
  upper: string;
  /** Seconds debootstrap took when this call had to make the cached root; 0 when it was cached. */
  coldSeconds: number;
  /** Runs argv inside the chroot with a clean environment; stdin optional. */
  run(argv: string[], options?: { input?: string; env?: Record<string, string> }): Promise<Outcome>;
  destroy(): void;
}

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
}

/**
 * arm64 when the kernel can run arm64 programs through qemu-user-static:
 * mounts binfmt_misc and registers qemu-aarch64 (with the F flag, so it works
 * inside a chroot) when needed. Needs root; false when the kernel refuses.
 */
export function arm64Emulation(): boolean {
  if (process.arch === 'arm64') return true;
  try {
    if (!existsSync(join(BINFMT, 'register'))) sh('mount', ['-t', 'binfmt_misc', 'binfmt_misc', BINFMT]);
    if (!existsSync(join(BINFMT, 'qemu-aarch64'))) writeFileSync(join(BINFMT, 'register'), readFileSync(QEMU_AARCH64, 'utf8').trim());
    const entry = readFileSync(join(BINFMT, 'qemu-aarch64'), 'utf8');
    return /^enabled/m.test(entry) && /^flags: .*F/m.test(entry);
  } catch {
    return false;
  }
}

/** The root the install tests use: arm64 where it can run, amd64 otherwise or when FRAMELINE_PI_ROOT_ARCH=amd64 (a much faster cold start). */
export function rootArch(): DebianArch {
  return process.env.FRAMELINE_PI_ROOT_ARCH === 'amd64' || !arm64Emulation() ? 'amd64' : 'arm64';
}

/**
 * Called by scripts/test.mjs before the test files run: a cold debootstrap
 * (many minutes under emulation) would not fit a test's time limit.
 */
export function prepareRoot(): void {
  const arch = rootArch();
  const { dir, coldSeconds } = cachedRoot(arch);
  console.error(coldSeconds ? `   made ${dir} in ${coldSeconds} s (once; later runs and clones reuse it)` : `   cached: ${dir}`);
}

function cacheDir(): string {
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'frameline');
}

/** The cached root for `arch`, made by debootstrap --variant=minbase on first use. */
export function cachedRoot(arch: DebianArch): { dir: string; coldSeconds: number } {
  const dir = join(cacheDir(), `debian-${SUITE}-${arch}-v${ROOT_VERSION}`);
  if (existsSync(join(dir, '.complete'))) return { dir, coldSeconds: 0 };
  mkdirSync(cacheDir(), { recursive: true });
  // made beside the cache and renamed into place, so an interrupted run leaves no half root
  const partial = `${dir}.partial-${process.pid}`;
  removeUnmounted(partial);
  const started = Date.now();
  const r = spawnSync('debootstrap', [`--arch=${arch}`, '--variant=minbase', '--include=nodejs,systemd', SUITE, partial, MIRROR], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  if (r.status !== 0) {
    removeUnmounted(partial);
    throw new Error(`debootstrap ${arch} ${SUITE} failed (exit ${r.status}):\n${(r.stdout + r.stderr).slice(-3000)}`);
  }
  finishRoot(partial);
  try {
    renameSync(partial, dir);
  } catch {
    removeUnmounted(partial); // another run finished first
  }
  return { dir, coldSeconds: Math.round((Date.now() - started) / 1000) };
}

/** What debootstrap leaves out that a Pi has: /etc/hosts (so "localhost" resolves); and its .debs are not needed any more. */
export function finishRoot(dir: string): void {
  rmSync(join(dir, 'var/cache/apt/archives'), { recursive: true, force: true });
  mkdirSync(join(dir, 'var/cache/apt/archives/partial'), { recursive: true });
  if (!existsSync(join(dir, 'etc/hosts'))) writeFileSync(join(dir, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  writeFileSync(join(dir, '.complete'), `${new Date().toISOString()}\n`);
}

/** Overlays left mounted by a test process that was killed before its after() hook ran. */
function removeStaleRoots(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = /^fl-pi-root-\w+-(\d+)-/.exec(name)?.[1];
    if (!pid || existsSync(`/proc/${pid}`)) continue;
    const merged = join(tmpdir(), name, 'merged');
    for (const m of ['dev', 'proc', '']) spawnSync('umount', ['-l', join(merged, m)], { stdio: 'ignore' });
    removeUnmounted(join(tmpdir(), name));
  }
}

/** rm -rf, but never through a mount point (a bind-mounted /dev above all). */
function removeUnmounted(base: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '');
  if (mounts.some((m) => m === base || m.startsWith(`${base}/`))) {
    console.error(`left ${base} in place: something is still mounted below it`);
    return;
  }
  rmSync(base, { recursive: true, force: true });
}

/** A fresh chroot over the cached root: overlayfs with /proc and /dev mounted; destroy() removes it. */
export function debianRoot(arch: DebianArch): DebianRoot {
  const { dir: lower, coldSeconds } = cachedRoot(arch);
  removeStaleRoots();
  const base = mkdtempSync(join(tmpdir(), `fl-pi-root-${arch}-${process.pid}-`));
  const [upper, work, merged] = ['upper', 'work', 'merged'].map((d) => join(base, d)) as [string, string, string];
  for (const d of [upper, work, merged]) mkdirSync(d);
  const mounted: string[] = [];
  const destroy = () => {
    for (const m of mounted.reverse()) spawnSync('umount', ['-l', m]);
    mounted.length = 0;
    removeUnmounted(base);
  };
  try {
    sh('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    mounted.push(merged);
    sh('mount', ['-t', 'proc', 'proc', join(merged, 'proc')]);
    mounted.push(join(merged, 'proc'));
    sh('mount', ['--bind', '/dev', join(merged, 'dev')]);
    mounted.push(join(merged, 'dev'));
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    arch,
    cpu: arch === 'arm64' ? 'arm64' : 'x64',
    dir: merged,
    lower,
    upper,
    coldSeconds,
    destroy,
    run(argv, options = {}) {
      const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', ...options.env };
      return new Promise((resolve) => {
        const child = execFile('chroot', [merged, ...argv], { env, timeout: 300_000, maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
          const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
          resolve({ code, stdout, stderr });
        });
        // a child that exits before reading its stdin closes the pipe: not an error here
        child.stdin?.on('error', () => {});
        if (options.input) child.stdin?.end(options.input);
        else child.stdin?.end();
      });
    },
  };
}
