// Runs the real `frameline-cloud` bin as a child process with a config file,
// collecting its log lines, for tests that need the process as an operator
// runs it (exit status, memory, log output).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TopicSet } from '@frameline/shared';
import { REPO_ROOT, type TestBroker } from '@frameline/shared/testing';

export const CLOUD_BIN = join(REPO_ROOT, 'cloud/bin/frameline-cloud.js');
/** The real main() with a 5 ms/frame test model given to the workers (cloud/test/slow-cloud.ts): same exits, logs and limits. */
const SLOW_CLOUD_BIN = join(REPO_ROOT, 'cloud/dist/test/slow-cloud.js');

export interface CloudProcess {
  child: ChildProcess;
  lines: string[];
  /** Exit code (or 128+signal). */
  exited: Promise<number>;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** http://127.0.0.1:PORT of /metrics and /healthz, from the "listening" line. */
  baseUrl(): Promise<string>;
  /** Peak resident memory of the process so far (VmHWM), bytes. */
  peakRss(): number;
  stop(): Promise<number>;
}

/** A cloud config on the test broker's INTERNAL listener as user cloud; `over` is merged on top, section by section. */
export function cloudConfigFile(broker: TestBroker, topics: TopicSet, over: Record<string, Record<string, unknown>> = {}): string {
  const p = broker.props;
  const base: Record<string, Record<string, unknown>> = {
    kafka: { brokers: p['bootstrap.internal'], security: 'sasl_plaintext', username: 'cloud', passwordFile: p['sasl.cloud.password.file'], groupId: `frameline-test-${Math.random().toString(36).slice(2, 10)}`, sessionTimeout: '6s' },
    topics: { frames: topics.frames, backfill: topics.backfill, inferences: topics.inferences, dlq: topics.dlq },
    http: { listen: '127.0.0.1:0' },
    scheduler: { workers: 1, maxLagMs: '10m' },
    log: { level: 'info' },
  };
  for (const [section, values] of Object.entries(over)) base[section] = { ...base[section], ...values };
  const file = join(mkdtempSync(join(tmpdir(), 'fl-cloud-')), 'cloud.json');
  writeFileSync(file, JSON.stringify(base, null, 2));
  return file;
}

export function startCloud(args: string[], env: NodeJS.ProcessEnv = {}): CloudProcess {
  const child = spawn(process.execPath, [SLOW_CLOUD_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, JOURNAL_STREAM: '', ...env } });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve(line: string): void }[] = [];
  const onData = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      lines.push(line);
      for (const w of [...waiters]) if (w.pattern.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))));
  const waitForLine = (pattern: RegExp, timeoutMs = 60_000) => {
    const seen = lines.find((l) => pattern.test(l));
    if (seen) return Promise.resolve(seen);
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.slice(-30).join('\n')}`)), timeoutMs);
      waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then(() => setTimeout(() => reject(new Error(`exited before a line matching ${pattern}:\n${lines.slice(-30).join('\n')}`)), 100));
    });
  };
  let peak = 0;
  const peakRss = () => {
    try {
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1]);
      if (kb) peak = Math.max(peak, kb * 1024);
    } catch { /* exited */ }
    return peak;
  };
  return {
    child, lines, exited, waitForLine, peakRss,
    baseUrl: async () => /url=(http:\/\/[\d.:]+)/.exec(await waitForLine(/listening url=/))![1]!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
