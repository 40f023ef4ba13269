// The AWS API stand-in for deploy tests: moto's server and the AWS CLI from
// PyPI in one venv under .cache/ (created once, idempotently), so that a fresh
// clone needs nothing but python3 and the PyPI registry.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@frameline/shared/testing';

const run = promisify(execFile);

/** Pinned so that every checkout tests against the same emulator and CLI. */
export const MOTO_REQUIREMENTS = ['moto[server]==5.2.5', 'awscli==1.46.3'];

export interface MotoVenv {
  dir: string;
  /** bin/ of the venv: put it first on PATH to get its `aws`. */
  bin: string;
  aws: string;
  motoServer: string;
}

/**
 * Creates .cache/venv-moto with MOTO_REQUIREMENTS unless it already holds
 * exactly them (a marker file records what was installed). Needs python3 with
 * the venv module (Debian: python3-venv) and the PyPI registry on first use.
 */
export async function ensureMotoVenv(): Promise<MotoVenv> {
  const dir = join(REPO_ROOT, '.cache/venv-moto');
  const bin = join(dir, 'bin');
  const marker = join(dir, '.frameline-requirements');
  const wanted = MOTO_REQUIREMENTS.join('\n');
  if (!existsSync(marker) || readFileSync(marker, 'utf8') !== wanted) {
    mkdirSync(join(REPO_ROOT, '.cache'), { recursive: true });
    if (!existsSync(join(bin, 'python'))) {
      try {
        await run('python3', ['-m', 'venv', dir]);
      } catch {
        // Debian splits the venv module (ensurepip) into its own package.
        await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'python3-venv'], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
        await run('python3', ['-m', 'venv', '--clear', dir]);
      }
    }
    await run(join(bin, 'pip'), ['install', '-q', '--disable-pip-version-check', ...MOTO_REQUIREMENTS], { maxBuffer: 1 << 24 });
    writeFileSync(marker, wanted);
  }
  return { dir, bin, aws: join(bin, 'aws'), motoServer: join(bin, 'moto_server') };
}

export interface MotoServer {
  endpoint: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts moto_server on host:port; `prefix` runs it inside something else, e.g.
 * ['ip', 'netns', 'exec', 'ns'] (which execs, so the pid is moto's own).
 * Resolves once it answers; stop() ends it by pid.
 */
export async function startMoto(venv: MotoVenv, host: string, port: number, prefix: string[] = []): Promise<MotoServer> {
  const argv = [...prefix, venv.motoServer, '-H', host, '-p', String(port)];
  const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => void (stderr = (stderr + b.toString()).slice(-4000)));
  const endpoint = `http://${host}:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`moto_server exited (${proc.exitCode}): ${stderr}`);
    try {
      const probe = [...prefix, 'curl', '-fsS', '-o', '/dev/null', `${endpoint}/moto-api/`];
      await run(probe[0]!, probe.slice(1));
      break;
    } catch {
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`moto_server did not answer on ${endpoint} within 60 s: ${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  return {
    endpoint,
    proc,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill('SIGTERM');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}
