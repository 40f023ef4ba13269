// Resident memory and open file descriptors of every soak process over time,
// read from /proc. Each process incarnation (role + pid) keeps its own series,
// so a restarted broker or cloud instance starts a new one.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcSample {
  /** ms since the soak started */
  t: number;
  rssMiB: number;
  fds: number;
}

export interface SeriesFigures {
  samples: number;
  min: number;
  max: number;
  last: number;
  /** Mean of the last quarter of the series minus the mean of its second quarter (the first is warm-up). */
  growth: number;
}

export interface ProcessFigures {
  role: string;
  pid: number;
  startedAtS: number;
  lastSampleAtS: number;
  rssMiB: SeriesFigures;
  fds: SeriesFigures;
  /** Growth per hour of the resident set, from the same quarters; null for series shorter than 4 minutes. */
  rssMiBPerHour: number | null;
}

/** RSS (MiB) and open descriptors of `pid` now, or undefined when it is gone. */
export function sampleProcess(pid: number): { rssMiB: number; fds: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return undefined;
    // A process still being exec'd has no VmRSS line yet: NaN, which sample() skips.
    const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
    return { rssMiB: kb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** min/max/last and the quarter-to-quarter growth of one series. */
export function seriesFigures(values: number[]): SeriesFigures {
  const q = Math.floor(values.length / 4);
  const growth = q === 0 ? 0 : mean(values.slice(values.length - q)) - mean(values.slice(q, 2 * q));
  return {
    samples: values.length,
    min: values.length ? Math.min(...values) : NaN,
    max: values.length ? Math.max(...values) : NaN,
    last: values.at(-1) ?? NaN,
    growth,
  };
}

export interface ProcSampler {
  /** Starts a new series for `role` under `pid` (a restart starts another). */
  track(role: string, pid: number): void;
  /** Samples every tracked live process; returns the roles whose process is gone. */
  sample(): string[];
  /** Current figure per role (its newest incarnation). */
  current(): Map<string, { pid: number; rssMiB: number; fds: number }>;
  figures(): ProcessFigures[];
}

export function createProcSampler(startedAt: number): ProcSampler {
  const series: { role: string; pid: number; startedAt: number; samples: ProcSample[]; gone: boolean }[] = [];
  const newest = (role: string) => series.filter((s) => s.role === role).at(-1);
  return {
    track(role, pid) {
      for (const s of series) if (s.role === role) s.gone = true;
      series.push({ role, pid, startedAt: Date.now(), samples: [], gone: false });
    },
    sample() {
      const gone: string[] = [];
      for (const s of series) {
        if (s.gone) continue;
        const now = sampleProcess(s.pid);
        if (!now) {
          s.gone = true;
          gone.push(s.role);
        } else if (Number.isFinite(now.rssMiB)) s.samples.push({ t: Date.now() - startedAt, ...now });
      }
      return gone;
    },
    current() {
      const out = new Map<string, { pid: number; rssMiB: number; fds: number }>();
      for (const role of new Set(series.map((s) => s.role))) {
        const s = newest(role)!;
        const last = s.samples.at(-1);
        if (last && !s.gone) out.set(role, { pid: s.pid, rssMiB: last.rssMiB, fds: last.fds });
      }
      return out;
    },
    figures() {
      return series.map((s) => {
        const rss = seriesFigures(s.samples.map((x) => x.rssMiB));
        const spanMs = (s.samples.at(-1)?.t ?? 0) - (s.samples[0]?.t ?? 0);
        return {
          role: s.role,
          pid: s.pid,
          startedAtS: Math.round((s.startedAt - startedAt) / 1000),
          lastSampleAtS: Math.round((s.samples.at(-1)?.t ?? 0) / 1000),
          rssMiB: rss,
          fds: seriesFigures(s.samples.map((x) => x.fds)),
          // The quarters' centres are half the span apart.
          rssMiBPerHour: spanMs >= 240_000 ? rss.growth / (spanMs / 2 / 3_600_000) : null,
        };
      });
    },
  };
}
