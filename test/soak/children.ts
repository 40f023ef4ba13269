// Long-running soak processes (agents, cloud instances): started with their
// output in a log file, restarted after an exit; an exit the soak did not
// cause is recorded as a death on its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

export interface Death {
  role: string;
  pid: number;
  atS: number;
  code: number | null;
  signal: string | null;
  /** The last lines it wrote. */
  tail: string;
}

export interface Soaked {
  role: string;
  pid(): number;
  /** Lines written by the current incarnation (bounded: the newest 2000). */
  lines(): string[];
  /** Kills the current incarnation on purpose (a fault or the end): not a death on its own, and no restart until start(). */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }>;
  start(): void;
}

const KEPT_LINES = 2000;

/**
 * `argv` run with node. `onStart` hears each new pid; `onDeath` an exit nobody
 * asked for, after which the process is started again (unless `ending()`).
 */
export function soakedProcess(
  role: string,
  argv: string[],
  logFile: string,
  hooks: { startedAt: number; onStart(pid: number): void; onDeath(d: Death): void; ending(): boolean; env?: NodeJS.ProcessEnv },
): Soaked {
  const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
  let child: ChildProcess | undefined;
  let lines: string[] = [];
  let expected = false;
  /** Killed by the soak and not started since: an earlier death's restart must not bring it back. */
  let stopped = false;
  let exited: Promise<{ code: number | null; signal: string | null }> = Promise.resolve({ code: null, signal: null });

  const start = () => {
    expected = false;
    stopped = false;
    lines = [];
    const c = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: hooks.env ?? process.env });
    child = c;
    log.write(`--- ${new Date().toISOString()} started pid ${c.pid}\n`);
    let partial = '';
    const onData = (b: Buffer) => {
      log.write(b);
      const parts = (partial + b.toString()).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts);
      if (lines.length > KEPT_LINES) lines = lines.slice(-KEPT_LINES);
    };
    c.stdout!.on('data', onData);
    c.stderr!.on('data', onData);
    exited = new Promise((resolve) => c.once('exit', (code, signal) => resolve({ code, signal })));
    void exited.then(({ code, signal }) => {
      log.write(`--- ${new Date().toISOString()} pid ${c.pid} exited code=${code} signal=${signal}${expected ? ' (by the soak)' : ' ON ITS OWN'}\n`);
      if (expected || child !== c) return;
      hooks.onDeath({ role, pid: c.pid!, atS: Math.round((Date.now() - hooks.startedAt) / 1000), code, signal, tail: lines.slice(-15).join('\n') });
      // Exit 78 is a configuration error: starting again cannot help.
      if (code !== 78) setTimeout(() => !hooks.ending() && !stopped && start(), 2000);
    });
    hooks.onStart(c.pid!);
  };

  return {
    role,
    pid: () => child?.pid ?? -1,
    lines: () => lines,
    start,
    async kill(signal) {
      expected = true;
      stopped = true;
      if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
