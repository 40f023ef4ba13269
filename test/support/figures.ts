// What the reliability tests count on a topic: per camera and agent run, the
// fl-seq values in offset order, turned into delivered / duplicated / lost /
// out-of-order figures that the tests print and assert on.

/** One frame (or one result) as the tests see it: whose, which, in offset order per partition. */
export interface SeqRecord {
  camera: string;
  run: string;
  seq: number;
}

export interface SeqFigures {
  /** Records read. */
  records: number;
  /** Distinct (camera, run, seq). */
  distinct: number;
  /** Records beyond the first of their (camera, run, seq). */
  duplicated: number;
  /**
   * First appearances of a seq after a higher seq of the same camera and run
   * had already appeared: the order by fl-seq is broken there. Repeats of an
   * earlier seq (a resend) are duplicates, not disorder.
   */
  outOfOrder: number;
  /** camera → run → distinct seqs in order of first appearance. */
  seqs: Map<string, Map<string, number[]>>;
}

export function seqFigures(records: SeqRecord[]): SeqFigures {
  const seen = new Set<string>();
  const highest = new Map<string, number>();
  const seqs = new Map<string, Map<string, number[]>>();
  let duplicated = 0;
  let outOfOrder = 0;
  for (const r of records) {
    const id = `${r.camera}\u0000${r.run}\u0000${r.seq}`;
    if (seen.has(id)) {
      duplicated++;
      continue;
    }
    seen.add(id);
    const lane = `${r.camera}\u0000${r.run}`;
    if (r.seq < (highest.get(lane) ?? -1)) outOfOrder++;
    highest.set(lane, Math.max(highest.get(lane) ?? -1, r.seq));
    const byRun = seqs.get(r.camera) ?? new Map<string, number[]>();
    seqs.set(r.camera, byRun);
    const list = byRun.get(r.run) ?? [];
    list.push(r.seq);
    byRun.set(r.run, list);
  }
  return { records: records.length, distinct: seen.size, duplicated, outOfOrder, seqs };
}

/** The fl-seq values 0..count-1 of `have` that are missing: acknowledged frames that are not there. */
export function missingSeqs(have: readonly number[], count: number): number[] {
  const set = new Set(have);
  const out: number[] = [];
  for (let i = 0; i < count; i++) if (!set.has(i)) out.push(i);
  return out;
}
