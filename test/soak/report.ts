// The soak's figures: one line a minute, and test/artifacts/soak-<time>.json
// and .md (rewritten every minute, so a soak cut short still leaves them).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Death } from './children.js';
import type { Fault } from './faults.js';
import type { CameraFigures } from './ledger.js';
import type { LinkProxyStats } from './link-proxy.js';
import type { ProcessFigures } from './proc-sampler.js';
import type { AgentCounts, CloudCounts } from './scrape.js';

export interface FuzzResult {
  file: string;
  cases: number;
  ok: boolean;
  /** The fuzzer's own summary line (seed, cases, time, RSS growth). */
  line: string;
}

export interface SoakReport {
  startedAt: string;
  options: { minutes: number; seed: number; fps: number; clouds: number };
  portBase: number;
  faults: (Fault & { atS: number; repairedAfterS?: number })[];
  deaths: Death[];
  processes: ProcessFigures[];
  proxy: LinkProxyStats;
  topicReadsFailed: number;
  minutes: string[];
  /** Last counters of each cloud instance's current process. */
  clouds: Record<string, CloudCounts>;
  /** null while the soak runs. */
  final: { cameras: CameraFigures[]; exits: string[]; fuzz: FuzzResult[]; failures: string[]; durationS: number } | null;
}

const n = (x: number, digits = 0) => (Number.isFinite(x) ? x.toFixed(digits) : '-');

/** One line: per camera captured/acknowledged(sent+spooled)/delivered/duplicated, faults so far, each process's RSS and fds. */
export function minuteLine(
  atS: number,
  runs: Map<string, { camera: string; last?: AgentCounts }>,
  topic: Map<string, { delivered: number; duplicated: number; reordered: number }>,
  faults: { kind: string }[],
  procs: Map<string, { rssMiB: number; fds: number }>,
  clouds: Map<string, CloudCounts>,
): string {
  const cams = [...new Set([...runs.values()].map((r) => r.camera))].sort().map((camera) => {
    const mine = [...runs.values()].filter((r) => r.camera === camera && r.last);
    const sum = (k: keyof AgentCounts) => mine.reduce((s, r) => s + (r.last![k] || 0), 0);
    const t = topic.get(camera) ?? { delivered: 0, duplicated: 0, reordered: 0 };
    return `${camera} captured ${sum('passed')} sent ${sum('sent')} spooled ${sum('spoolFrames')} delivered ${t.delivered} dup ${t.duplicated}`;
  });
  const kinds = new Map<string, number>();
  for (const f of faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  const ps = [...procs].map(([role, p]) => `${role} ${n(p.rssMiB)}MiB/${p.fds}fd`);
  const cs = [...clouds].map(([role, c]) => `${role} inferred ${c.inferred} lag ${c.lag}`);
  return `${(atS / 60).toFixed(1)} min: ${cams.join('; ')} | faults ${faults.length} (${[...kinds].map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}) | ${ps.join(' ')} | ${cs.join('; ')}`;
}

export function soakMarkdown(s: SoakReport): string {
  const md = [`# frameline soak, ${s.startedAt}`, '',
    `\`npm run soak -- --minutes ${s.options.minutes} --seed ${s.options.seed}\`: 3 cameras at ${s.options.fps} fps (reliable, inline backfill), ${s.options.clouds} cloud instance(s), seeded faults.`, ''];
  if (s.final) {
    md.push(s.final.failures.length === 0 ? `**Passed** in ${s.final.durationS} s: no acknowledged frame lost, no process died on its own.` : `**FAILED**:\n${s.final.failures.map((f) => `- ${f}`).join('\n')}`, '');
    md.push('| camera | agent runs | captured (fl-seq given) | acknowledged | delivered | lost | duplicated | reordered | dropped by policy | left in spool |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const c of s.final.cameras) md.push(`| ${c.camera} | ${c.runs} | ${c.submitted} | ${c.acknowledged} | ${c.delivered} | ${c.lost} | ${c.duplicated} | ${c.reordered} | ${c.droppedByPolicy} | ${c.inSpoolAtEnd} |`);
    md.push('');
  } else md.push('(running)', '');
  const kinds = new Map<string, number>();
  for (const f of s.faults) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
  md.push(`Faults: ${s.faults.length} (${[...kinds].map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'}). Relay: ${s.proxy.connections} connections, ${s.proxy.reset} reset, ${s.proxy.heldDropped} held and dropped. Topic reads that failed (broker down): ${s.topicReadsFailed}.`, '');
  md.push('| at (s) | fault | planned (s) | repaired after (s) |', '|---|---|---|---|', ...s.faults.map((f) => `| ${f.atS} | ${f.kind}${f.kind === 'cloud-sigkill' ? ` cloud-${f.target + 1}` : ''} | ${f.durationS} | ${f.repairedAfterS ?? '-'} |`), '');
  md.push('Processes (RSS in MiB, open file descriptors; growth: mean of the last quarter minus mean of the second quarter of the samples):', '',
    '| process | pid | from (s) | to (s) | RSS min | RSS max | RSS last | RSS growth | MiB/h | fds min | fds max | fds last | fds growth |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const p of s.processes) {
    md.push(`| ${p.role} | ${p.pid} | ${p.startedAtS} | ${p.lastSampleAtS} | ${n(p.rssMiB.min)} | ${n(p.rssMiB.max)} | ${n(p.rssMiB.last)} | ${n(p.rssMiB.growth, 1)} | ${p.rssMiBPerHour === null ? '-' : n(p.rssMiBPerHour, 1)} | ${n(p.fds.min)} | ${n(p.fds.max)} | ${n(p.fds.last)} | ${n(p.fds.growth, 1)} |`);
  }
  md.push('');
  if (s.final) {
    md.push('Fuzzers:', '', ...s.final.fuzz.map((f) => `- ${f.ok ? 'passed' : 'FAILED'} ${f.file} (${f.cases} cases): ${f.line}`), '');
    md.push('Stops:', '', ...s.final.exits.map((e) => `- ${e}`), '');
  }
  for (const d of s.deaths) md.push(`Died on its own: ${d.role} pid ${d.pid} at ${d.atS} s (code ${d.code}, signal ${d.signal})`, '```', d.tail, '```', '');
  md.push('Every minute:', '', '```', ...s.minutes, '```');
  return md.join('\n');
}

/** Writes <dir>/soak-<stamp>.json and .md; returns their paths and the Markdown. */
export function writeSoakReport(dir: string, stamp: string, s: SoakReport): { json: string; md: string; markdown: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `soak-${stamp}.json`);
  const md = join(dir, `soak-${stamp}.md`);
  const markdown = soakMarkdown(s);
  writeFileSync(json, JSON.stringify(s, null, 2));
  writeFileSync(md, markdown + '\n');
  return { json, md, markdown };
}
