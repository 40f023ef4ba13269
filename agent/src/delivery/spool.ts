// The reliable mode's on-disk spool: frames the broker could not take yet.
//
// Append-only segment files (spool/segment-file.ts) in one directory, each
// record framed with its length and CRC32, so a record torn by power loss is
// cut off on open and the records before it survive. Records are read from
// the head in order and acknowledged once the broker has them; a segment is
// deleted only when every record in it is acknowledged. The head is kept in
// a small cursor file (spool/cursor.ts) so a restart does not resend what the
// broker already acknowledged. Limits (bytes, age) evict whole segments,
// oldest first, counted (spool/limits.ts). Every file operation runs on one
// serial chain, so appends, reads, acks and evictions never interleave.
//
// A full disk (ENOSPC) counts as reaching the byte limit: the oldest segment
// is evicted, counted and logged, and the write tried again.
//
// What survives power loss, by `fsync` policy (a crash of the process alone
// loses nothing written: the page cache survives it):
//   always    every record append()ed and written (writes follow within one
//             event-loop turn) is on disk before the next write, and so are
//             the segment files' directory entries and the cursor (temp
//             file fsynced, renamed, directory fsynced).
//   interval  the same as of the last tick (fsyncIntervalMs): records written
//             since then, and segment files created or removed since then,
//             may be lost; the cursor is replaced atomically (fsynced before
//             its rename) but the rename may roll back to the previous tick.
//   never     whatever the kernel had written back; records that reached the
//             disk are still whole or cut off by their CRC.
// A cursor that rolls back means resending acknowledged frames (duplicates,
// at-least-once), never losing unacknowledged ones.
import { mkdir } from 'node:fs/promises';
import type { Logger } from '@frameline/shared';
import { encodeSpoolRecord, type SpoolRecord } from './spool-record.js';
import { recoverSpool } from './spool/recover.js';
import { createSegmentSet, type FsyncPolicy, type SpoolBatch } from './spool/segment-set.js';

export type { FsyncPolicy, SpoolBatch } from './spool/segment-set.js';

export interface SpoolOptions {
  dir: string;
  /** Upper bound of the spool on disk; the oldest segments go beyond it. */
  maxBytes: number;
  /** Segments whose newest record is older than this are evicted; 0: no age limit. */
  maxAgeMs: number;
  /** A segment is closed and a new one begun once it reaches this size. */
  segmentBytes: number;
  fsync: FsyncPolicy;
  /** For fsync `interval`. */
  fsyncIntervalMs: number;
  /** Accepted but not yet written bytes (a slow disk); appends beyond are refused. */
  maxPendingBytes: number;
}

export const DEFAULT_SPOOL_OPTIONS: Omit<SpoolOptions, 'dir'> = {
  maxBytes: 1024 * 1024 * 1024,
  maxAgeMs: 24 * 3600_000,
  segmentBytes: 16 * 1024 * 1024,
  fsync: 'interval',
  fsyncIntervalMs: 1000,
  maxPendingBytes: 32 * 1024 * 1024,
};

export interface SpoolStats {
  /** Records not yet acknowledged, including those still being written. */
  frames: number;
  bytes: number;
  segments: number;
  evictedFrames: number;
  evictedSegments: number;
  /** Segments evicted because the disk was full (also in evictedSegments). */
  diskFullEvictions: number;
  /** A write failed with ENOSPC/EDQUOT, and the spool has not drained to half its size since. */
  diskFull: boolean;
  tornRecordsSkipped: number;
  /** Capture time (record timestamp, epoch ms) of the oldest unacknowledged record; null when empty or not known yet. */
  oldestAt: number | null;
}

export interface Spool {
  /** Queues a record for writing, in order; false when the write backlog is full. Never blocks. */
  append(record: SpoolRecord): boolean;
  /** The oldest unacknowledged records (at least one when any exist), without consuming them. */
  read(maxRecords: number, maxBytes: number): Promise<SpoolBatch | null>;
  /** The broker has the first `count` records of `batch` (all by default): move the head past them, delete finished segments. */
  ack(batch: SpoolBatch, count?: number): Promise<void>;
  /** Unacknowledged records, including queued ones. */
  frames(): number;
  stats(): SpoolStats;
  /** Writes queued records and fsyncs, whatever the fsync policy. */
  flush(): Promise<void>;
  /** Applies the byte and age limits now (also done after writes and on a timer). */
  enforceLimits(): Promise<void>;
  close(): Promise<void>;
}

const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

export interface SpoolDeps {
  logger: Logger;
  /** Epoch ms; tests move time forward for the age limit. */
  now?: () => number;
}

export async function openSpool(options: SpoolOptions, deps: SpoolDeps): Promise<Spool> {
  const log = deps.logger.child('spool', { dir: options.dir });
  await mkdir(options.dir, { recursive: true });
  // A segment bigger than a quarter of the limit would make eviction too coarse.
  const segmentBytes = Math.max(1, Math.min(options.segmentBytes, Math.floor(options.maxBytes / 4)));
  const set = createSegmentSet({ ...options, segmentBytes }, await recoverSpool(options.dir, log), log, deps.now ?? Date.now);
  if (set.count() > 0) log.info('spool reopened', { frames: set.frames(), bytes: set.bytes(), segments: set.count() });

  /** Accepted, framed, not yet written (written on the next turn of the event loop). */
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  /** Taken from pending by the write under way: still counted until the segment set counts them, or the spool would look empty meanwhile. */
  let writing: { batch: Buffer[]; progress: { written: number } } | undefined;
  const unwritten = (): Buffer[] => (writing ? writing.batch.slice(writing.progress.written) : []);
  let closed = false;
  let writeScheduled = false;
  /** Spool size when a write last found the disk full; the state lasts until the spool has drained to half of it. */
  let fullAtBytes: number | undefined;
  const diskFull = (): boolean => {
    if (fullAtBytes !== undefined && set.bytes() + pendingBytes < fullAtBytes / 2) fullAtBytes = undefined;
    return fullAtBytes !== undefined;
  };

  /** The head record's timestamp: set where the head becomes known (append to an empty spool, read, ack), re-read from disk where it moves unseen (eviction, reopening). */
  let oldestAt: number | null = null;
  const timestampOf = (record: SpoolRecord): number | null => (Number.isFinite(Number(record.timestamp)) ? Number(record.timestamp) : null);

  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  };

  async function writePending(): Promise<void> {
    const evicted = set.counters.evictedFrames;
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      pendingBytes = 0;
      const progress = { written: 0 };
      writing = { batch, progress };
      try {
        await set.write(batch, progress);
      } catch (e) {
        // Keep what was not written, ahead of what arrived meanwhile.
        const left = unwritten();
        writing = undefined;
        pending = [...left, ...pending];
        pendingBytes += left.reduce((n, b) => n + b.length, 0);
        // A full disk is the byte limit arriving early: the oldest frames make room for the newest.
        if (DISK_FULL.has((e as NodeJS.ErrnoException).code ?? '')) {
          fullAtBytes = set.bytes();
          if (await set.evictForSpace()) continue;
        }
        throw e;
      }
      writing = undefined;
    }
    await set.enforceLimits(pendingBytes);
    if (set.counters.evictedFrames !== evicted) await refreshOldest();
  }

  /** Re-reads the head record's timestamp (inside the serial chain). */
  async function refreshOldest(): Promise<void> {
    if (frames() === 0) {
      oldestAt = null;
      return;
    }
    if (set.frames() === 0) return; // the head is still in pending: noted by append()
    const batch = await set.read(1, 1);
    oldestAt = batch?.records[0] ? timestampOf(batch.records[0]) : oldestAt;
  }

  async function enforceLimitsNoting(): Promise<void> {
    const evicted = set.counters.evictedFrames;
    await set.enforceLimits(pendingBytes);
    if (set.counters.evictedFrames !== evicted) await refreshOldest();
  }

  const timers: NodeJS.Timeout[] = [];
  if (options.fsync === 'interval') {
    timers.push(
      setInterval(() => {
        if (!set.needsSync()) return;
        void serial(set.syncChanged).catch((e: Error) => log.error('spool fsync failed', { error: e }));
      }, options.fsyncIntervalMs),
    );
  }
  if (options.maxAgeMs > 0) {
    timers.push(
      setInterval(() => {
        void serial(enforceLimitsNoting).catch((e: Error) => log.error('spool limit check failed', { error: e }));
      }, Math.min(Math.max(options.maxAgeMs / 4, 100), 10_000)),
    );
  }
  for (const t of timers) t.unref();

  const scheduleWrite = () => {
    if (writeScheduled) return;
    writeScheduled = true;
    setImmediate(() => {
      writeScheduled = false;
      void serial(writePending).catch((e: Error) => log.error('spool write failed; will retry', { error: e }));
    });
  };

  const frames = () => set.frames() + (writing ? writing.batch.length - writing.progress.written : 0) + pending.length;
  const bytes = () => set.bytes() + unwritten().reduce((n, b) => n + b.length, 0) + pendingBytes;

  await serial(refreshOldest);

  return {
    append(record) {
      if (closed) return false;
      const framed = encodeSpoolRecord(record);
      if (framed.length > options.maxBytes || pendingBytes + framed.length > options.maxPendingBytes) return false;
      if (frames() === 0) oldestAt = timestampOf(record);
      pending.push(framed);
      pendingBytes += framed.length;
      scheduleWrite();
      return true;
    },
    read: (maxRecords, maxBytes) =>
      serial(async () => {
        await writePending();
        const batch = await set.read(Math.max(1, maxRecords), maxBytes);
        if (batch?.records[0]) oldestAt = timestampOf(batch.records[0]);
        return batch;
      }),
    ack: (batch, count = batch.records.length) =>
      serial(async () => {
        if (closed) return;
        await set.ack(batch, count);
        // The next record is at most one frame newer than the last acknowledged one; the next read() makes it exact.
        const next = batch.records[Math.min(count, batch.records.length - 1)];
        if (next) oldestAt = timestampOf(next);
      }),
    frames,
    stats: () => ({ frames: frames(), bytes: bytes(), segments: set.count(), diskFull: diskFull(), ...set.counters, oldestAt: frames() > 0 ? oldestAt : null }),
    flush: () =>
      serial(async () => {
        await writePending();
        await set.flush();
      }),
    enforceLimits: () => serial(enforceLimitsNoting),
    close: () =>
      serial(async () => {
        closed = true;
        for (const t of timers) clearInterval(t);
        try {
          await writePending();
        } finally {
          await set.close();
        }
      }),
  };
}
