// The cloud's doors open one way: along the journey ingest -> scheduler ->
// inference -> publish -> analysis -> fleet, a stage imports only from itself and
// earlier stages; web/, cli/ and service.ts (the composition) may import
// anything; config.ts anyone may import. And no import cycles, in cloud/src
// or agent/src. The graph is the TypeScript compiler's own module resolution,
// type-only imports included; by hand:
//
//   npx tsc -p cloud --noEmit --explainFiles | grep -B1 -A3 "^cloud/src"
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@frameline/shared/testing';

const TSC = join(REPO_ROOT, 'node_modules/.bin/tsc');

/** Journey order of cloud/src's stage folders: a stage may import only from a stage at or before it. */
const JOURNEY = ['ingest', 'scheduler', 'inference', 'publish', 'analysis', 'fleet'];
/** The composition and the dashboard: may import from every stage, no stage imports them. */
const ROOTS = ['web', 'cli', 'service.ts'];
/** Imported by everyone, imports no stage. */
const BASE = ['config.ts', 'analysis-config.ts', 'refusal.ts'];

type Graph = Map<string, Set<string>>;

/** importer -> imported files under `under` (repository-relative), from `tsc --explainFiles`. */
async function importGraph(project: string, under: string): Promise<Graph> {
  const { stdout } = await promisify(execFile)(TSC, ['-p', project, '--noEmit', '--explainFiles'], { cwd: REPO_ROOT, maxBuffer: 64 << 20 });
  const graph: Graph = new Map();
  let file = '';
  for (const line of stdout.split('\n')) {
    if (!/^\s/.test(line)) {
      file = line.trim();
      continue;
    }
    const m = /^\s+Imported via .* from file '([^']+)'/.exec(line);
    if (!m || !file.startsWith(under) || !m[1]!.startsWith(under)) continue;
    const from = m[1]!;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(file);
  }
  return graph;
}

/** Every cycle's files (strongly connected components with more than one file, or a self-import). */
function cycles(graph: Graph): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const scc: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      scc.push(w);
    } while (w !== v);
    if (scc.length > 1 || graph.get(v)?.has(v)) out.push(scc.sort());
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return out;
}

/** The part of cloud/src a file belongs to: a journey stage, a root, or the base. */
function place(file: string): { kind: 'stage'; rank: number; name: string } | { kind: 'root' | 'base'; name: string } {
  const name = file.slice('cloud/src/'.length).split('/')[0]!;
  const rank = JOURNEY.indexOf(name);
  if (rank >= 0) return { kind: 'stage', rank, name };
  if (ROOTS.includes(name)) return { kind: 'root', name };
  if (BASE.includes(name)) return { kind: 'base', name };
  throw new Error(`cloud/src/${name} is not placed in the journey: add it to JOURNEY, ROOTS or BASE in import-graph.test.ts`);
}

/** Edges that run back up the journey, into a root, or out of the base. */
function backEdges(graph: Graph): string[] {
  const bad: string[] = [];
  for (const [from, tos] of graph) {
    const a = place(from);
    for (const to of tos) {
      const b = place(to);
      const allowed = a.kind === 'root' || b.kind === 'base' || (a.kind === 'stage' && b.kind === 'stage' && b.rank <= a.rank);
      if (!allowed) bad.push(`${from} -> ${to} (${a.name} may not import ${b.name})`);
    }
  }
  return bad.sort();
}

/** The graph of one package's sources, with a sanity check that it was read at all. */
async function readGraph(t: TestContext, project: string, minEdges: number): Promise<Graph> {
  const graph = await importGraph(project, `${project}/src/`);
  const edges = [...graph.values()].reduce((n, s) => n + s.size, 0);
  t.diagnostic(`${graph.size} importing files, ${edges} edges`);
  assert.ok(edges >= minEdges, `the import graph was read (${edges} edges)`);
  return graph;
}

test('cloud/src: no import cycles and no import running back up ingest -> scheduler -> inference -> publish', { timeout: 180_000 }, async (t) => {
  const graph = await readGraph(t, 'cloud', 50);
  assert.deepEqual(cycles(graph), [], 'import cycles in cloud/src');
  assert.deepEqual(backEdges(graph), [], 'imports against the journey');
});

test('agent/src: no import cycles', { timeout: 180_000 }, async (t) => {
  assert.deepEqual(cycles(await readGraph(t, 'agent', 20)), [], 'import cycles in agent/src');
});

test('the checks catch a cycle and a back edge', () => {
  const g: Graph = new Map([
    ['cloud/src/ingest/a.ts', new Set(['cloud/src/scheduler/b.ts'])],
    ['cloud/src/scheduler/b.ts', new Set(['cloud/src/ingest/a.ts', 'cloud/src/config.ts'])],
  ]);
  assert.deepEqual(cycles(g), [['cloud/src/ingest/a.ts', 'cloud/src/scheduler/b.ts']]);
  assert.deepEqual(backEdges(g), ['cloud/src/ingest/a.ts -> cloud/src/scheduler/b.ts (ingest may not import scheduler)']);
});
