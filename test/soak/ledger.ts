// The soak's frame accounting: what reached the frames topic, per camera and
// agent run (fl-run), against what each agent acknowledged. Pure: fed with
// records read from the topic and with the agents' own counts.

export interface TopicRecord {
  partition: number;
  offset: number;
  camera: string;
  run: string;
  seq: number;
}

/** What one agent run (one process) reported: frames it submitted for delivery and what it accounted for otherwise. */
export interface RunReport {
  camera: string;
  run: string;
  /** Frames given fl-seq 0..submitted-1 (the agent's frames_passed_total). */
  submitted: number;
  /** Frames dropped by policy and counted (spool evictions, delivery drops): not acknowledged. */
  dropped: number;
  /** fl-seq numbers still in the agent's spool after it stopped: acknowledged, waiting for the next start. */
  inSpool: number[];
}

export interface CameraFigures {
  camera: string;
  runs: number;
  /** Frames with an fl-seq (submitted by the agents). */
  submitted: number;
  acknowledged: number;
  /** Distinct (run, seq) on the topic. */
  delivered: number;
  /** Records on the topic beyond the first of each (run, seq): at-least-once resends. */
  duplicated: number;
  /** First appearances of a seq after a higher seq of the same run on the partition. */
  reordered: number;
  droppedByPolicy: number;
  inSpoolAtEnd: number;
  /** Acknowledged but neither on the topic nor in the spool (must be 0). */
  lost: number;
  /** Up to 20 lost frames as run/seq, to look for. */
  lostExamples: string[];
}

interface RunState {
  camera: string;
  seqs: Set<number>;
  highest: number;
  records: number;
  reordered: number;
}

export interface Ledger {
  add(record: TopicRecord): void;
  /** Records added (every one, duplicates included). */
  records(): number;
  /** Distinct frames and duplicates so far, per camera (for the minute lines). */
  running(): Map<string, { delivered: number; duplicated: number; reordered: number }>;
  /** Final figures per camera, given every run's report. */
  settle(reports: RunReport[]): CameraFigures[];
}

export function createLedger(): Ledger {
  const runs = new Map<string, RunState>();
  let total = 0;
  return {
    add(r) {
      total++;
      let s = runs.get(r.run);
      if (!s) runs.set(r.run, (s = { camera: r.camera, seqs: new Set(), highest: -1, records: 0, reordered: 0 }));
      s.records++;
      if (s.seqs.has(r.seq)) return;
      // Frames of one run share one partition, so topic order is offset order here.
      if (r.seq < s.highest) s.reordered++;
      s.seqs.add(r.seq);
      s.highest = Math.max(s.highest, r.seq);
    },
    records: () => total,
    running() {
      const out = new Map<string, { delivered: number; duplicated: number; reordered: number }>();
      for (const s of runs.values()) {
        const c = out.get(s.camera) ?? { delivered: 0, duplicated: 0, reordered: 0 };
        c.delivered += s.seqs.size;
        c.duplicated += s.records - s.seqs.size;
        c.reordered += s.reordered;
        out.set(s.camera, c);
      }
      return out;
    },
    settle(reports) {
      const cameras = [...new Set([...reports.map((r) => r.camera), ...[...runs.values()].map((s) => s.camera)])].sort();
      return cameras.map((camera) => {
        const f: CameraFigures = { camera, runs: 0, submitted: 0, acknowledged: 0, delivered: 0, duplicated: 0, reordered: 0, droppedByPolicy: 0, inSpoolAtEnd: 0, lost: 0, lostExamples: [] };
        const reported = new Set<string>();
        for (const rep of reports.filter((r) => r.camera === camera)) {
          reported.add(rep.run);
          const s = runs.get(rep.run);
          const spooled = new Set(rep.inSpool);
          // A frame on the topic proves it was submitted, even past the last count.
          const submitted = Math.max(rep.submitted, (s?.highest ?? -1) + 1, ...rep.inSpool.map((x) => x + 1));
          const missing: number[] = [];
          for (let seq = 0; seq < submitted; seq++) if (!s?.seqs.has(seq) && !spooled.has(seq)) missing.push(seq);
          // Which frames policy dropped is not known, only how many: the rest of the missing are lost.
          const lost = Math.max(0, missing.length - rep.dropped);
          f.runs++;
          f.submitted += submitted;
          f.acknowledged += submitted - rep.dropped;
          f.droppedByPolicy += rep.dropped;
          f.inSpoolAtEnd += spooled.size;
          f.lost += lost;
          if (lost > 0) f.lostExamples.push(...missing.slice(0, 20 - f.lostExamples.length).map((seq) => `${rep.run}/${seq}`));
        }
        for (const [run, s] of runs) {
          if (s.camera !== camera) continue;
          f.delivered += s.seqs.size;
          f.duplicated += s.records - s.seqs.size;
          f.reordered += s.reordered;
          // A run on the topic that no agent reported (not started by this soak) counts as delivered only.
          if (!reported.has(run)) f.runs++;
        }
        return f;
      });
    },
  };
}
