// Which offsets may be committed: per partition, everything below the lowest
// offset still in work (handed to inference or the DLQ, not yet published or
// deliberately skipped). Offsets arrive in order, so a deque suffices.

export interface Ticket {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The frame is finished: its result was published, or it was skipped on purpose. Idempotent. */
  complete(): void;
}

interface Entry {
  offset: bigint;
  done: boolean;
}

interface PartitionState {
  entries: Entry[];
  head: number;
  /** Offset after the last one tracked: what to commit once everything is done. */
  next: bigint | undefined;
  committed: bigint | undefined;
}

export interface CommitPoint {
  topic: string;
  partition: number;
  offset: string;
}

export interface OffsetTracker {
  track(topic: string, partition: number, offset: string): Ticket;
  /** Positions that moved since the last markCommitted, ready for commitOffsets. */
  pending(): CommitPoint[];
  markCommitted(points: CommitPoint[]): void;
  /** Forgets partitions (on rebalance): tickets from before are ignored. */
  reset(): void;
  /** Per tracked partition: next offset to commit and how many offsets are still in work. */
  positions(): { topic: string; partition: number; committable: string | undefined; inWork: number }[];
}

export function createOffsetTracker(): OffsetTracker {
  let epoch = 0;
  let partitions = new Map<string, PartitionState & { topic: string; partition: number }>();

  const stateOf = (topic: string, partition: number) => {
    const id = `${topic}\u0000${partition}`;
    let s = partitions.get(id);
    if (!s) {
      s = { topic, partition, entries: [], head: 0, next: undefined, committed: undefined };
      partitions.set(id, s);
    }
    return s;
  };

  const committable = (s: PartitionState): bigint | undefined => {
    while (s.head < s.entries.length && s.entries[s.head]!.done) s.head++;
    if (s.head > 1024 || s.head === s.entries.length) {
      s.entries = s.entries.slice(s.head);
      s.head = 0;
    }
    return s.head < s.entries.length ? s.entries[s.head]!.offset : s.next;
  };

  return {
    track(topic, partition, offset) {
      const s = stateOf(topic, partition);
      const entry: Entry = { offset: BigInt(offset), done: false };
      if (s.next !== undefined && entry.offset < s.next) {
        throw new Error(`offset ${offset} of ${topic}/${partition} arrived after ${s.next - 1n}: offsets must be tracked in order`);
      }
      s.entries.push(entry);
      s.next = entry.offset + 1n;
      const at = epoch;
      return {
        topic, partition, offset,
        complete: () => {
          if (at === epoch) entry.done = true;
        },
      };
    },
    pending() {
      const out: CommitPoint[] = [];
      for (const s of partitions.values()) {
        const c = committable(s);
        if (c !== undefined && c !== s.committed) out.push({ topic: s.topic, partition: s.partition, offset: c.toString() });
      }
      return out;
    },
    markCommitted(points) {
      for (const p of points) {
        const s = partitions.get(`${p.topic}\u0000${p.partition}`);
        if (s) s.committed = BigInt(p.offset);
      }
    },
    reset() {
      epoch++;
      partitions = new Map();
    },
    positions() {
      return [...partitions.values()].map((s) => {
        const c = committable(s);
        return { topic: s.topic, partition: s.partition, committable: c?.toString(), inWork: s.entries.length - s.head };
      });
    },
  };
}
