// Runs the real `frameline-agent run` as a child process with a config file,
// for the reliability tests: its log lines, its /metrics, and the figures of
// its final "stopped" line (what the broker acknowledged, what stayed spooled).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TopicSet } from '@frameline/shared';
import { REPO_ROOT, type TestBroker } from '@frameline/shared/testing';

export const AGENT_BIN = join(REPO_ROOT, 'agent/bin/frameline-agent.js');

export interface AgentProcess {
  child: ChildProcess;
  lines: string[];
  /** The whole log so far, one string. */
  log(): string;
  /** Exit code, or null when killed by a signal. */
  exited: Promise<number | null>;
  /** A counter or gauge of this agent's /metrics (NaN when it has none or does not answer). */
  metric(name: string, labels?: string): Promise<number>;
  /** Figures of the "[agent] stopped" line, once the agent logged it. */
  stopped(): AgentStopped | undefined;
  /** SIGTERM, then SIGKILL after 30 s; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** From the agent's last line: frames the broker acknowledged, frames left in the spool, frames dropped by any policy. */
export interface AgentStopped {
  sent: number;
  spooledFrames: number;
  dropped: number;
}

export interface AgentConfigOptions {
  camera: string;
  stateDir: string;
  metricsPort?: number;
  /** Merged over the defaults, section by section. */
  over?: Record<string, Record<string, unknown>>;
}

/**
 * Writes a config for a synthetic-camera agent in reliable mode on the
 * broker's EXTERNAL listener (camera N on partition N-1) to `file`.
 */
export function writeAgentConfig(file: string, broker: TestBroker, topics: TopicSet, options: AgentConfigOptions): string {
  const p = broker.props;
  const base: Record<string, Record<string, unknown>> = {
    camera: { id: options.camera, source: 'synthetic', width: 160, height: 120, fps: 10 },
    kafka: { brokers: p['bootstrap.external']!.split(','), passwordFile: p['sasl.agent.password.file'], caFile: p['ssl.ca'], connectionTimeout: '2s' },
    topics: { frames: topics.frames, backfill: topics.backfill },
    delivery: { mode: 'reliable', backfill: 'inline', sendTimeout: '3s' },
    metrics: { listen: options.metricsPort ? `127.0.0.1:${options.metricsPort}` : '' },
  };
  for (const [section, values] of Object.entries(options.over ?? {})) base[section] = { ...base[section], ...values };
  writeFileSync(file, JSON.stringify({ ...base, partitioning: 'camera-index', stateDir: options.stateDir }, null, 2));
  return file;
}

export function startAgentProcess(configFile: string, options: { env?: NodeJS.ProcessEnv; metricsPort?: number } = {}): AgentProcess {
  const child = spawn(process.execPath, [AGENT_BIN, 'run', '--config', configFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, JOURNAL_STREAM: '', ...options.env },
  });
  const lines: string[] = [];
  let partial = '';
  const onData = (b: Buffer) => {
    const parts = (partial + b.toString()).split('\n');
    partial = parts.pop()!;
    lines.push(...parts.filter(Boolean));
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const metric = async (name: string, labels = ''): Promise<number> => (options.metricsPort ? scrapeAgentMetric(options.metricsPort, name, labels) : NaN);
  const stopped = (): AgentStopped | undefined => {
    const line = lines.find((l) => /\[agent\] stopped/.test(l));
    if (!line) return undefined;
    const field = (k: string) => Number(new RegExp(`${k}=(\\d+)`).exec(line)?.[1]);
    return { sent: field('sent'), spooledFrames: field('spooledFrames'), dropped: field('dropped') };
  };
  return {
    child, lines, exited, metric, stopped,
    log: () => lines.join('\n'),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/**
 * One sample of a Prometheus text exposition: the value of `name` whose label
 * set contains `labels` (e.g. `reason="too-old"`), summed over the matching
 * series; 0 when the metric is there without such a series, NaN when absent.
 */
/** `frameline_agent_<name>` from the /metrics of an agent listening on 127.0.0.1:`port` (NaN when it does not answer or has none). */
export async function scrapeAgentMetric(port: number, name: string, labels = ''): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return metricValue(text, `frameline_agent_${name}`, labels);
  } catch {
    return NaN;
  }
}

export function metricValue(text: string, name: string, labels = ''): number {
  let found = false;
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    found = true;
    if (labels && !(m[2] ?? '').includes(labels)) continue;
    sum += Number(m[3]);
  }
  // A metric without any series yet (a labelled counter never incremented) is 0.
  return found || text.includes(`# TYPE ${name} `) ? sum : NaN;
}
