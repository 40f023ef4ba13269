// The spool's segments as one ordered log: the head (first unacknowledged
// record), the segment being written, rotation, acknowledgement, eviction,
// and the fsyncs each fsync policy asks for (see ../spool.ts for what
// survives power loss).
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@frameline/shared';
import type { SpoolRecord } from '../spool-record.js';
import { syncDir, writeCursor } from './cursor.js';
import { planEviction, type EvictionReason, type SpoolLimits } from './limits.js';
import type { Recovered, SegmentState } from './recover.js';
import { readRecords, segmentName, writeAll } from './segment-file.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

export interface SpoolBatch {
  records: SpoolRecord[];
  /** Framed bytes of the records. */
  bytes: number;
  segment: number;
  /** Head position before the first record. */
  start: { offset: number; records: number };
  /** File offset just past each record. */
  ends: number[];
}

export interface SegmentSetOptions extends SpoolLimits {
  dir: string;
  segmentBytes: number;
  fsync: FsyncPolicy;
}

export function createSegmentSet(options: SegmentSetOptions, recovered: Recovered, log: Logger, now: () => number) {
  const { dir, fsync } = options;
  const segments: SegmentState[] = recovered.segments;
  let head = recovered.head;
  let nextId = recovered.nextId;
  let active: { segment: SegmentState; fh: FileHandle } | undefined;
  let reader: { id: number; fh: FileHandle } | undefined;
  /** Written since the last fsync of the active segment / of the directory (policy `interval`). */
  const unsynced = { data: false, dir: recovered.removedFiles };
  const counters = { evictedFrames: 0, evictedSegments: 0, diskFullEvictions: 0, tornRecordsSkipped: recovered.tornRecords };

  /** A segment file was created or removed, or the cursor renamed: durable now (`always`) or at the next tick. */
  async function dirChanged(): Promise<void> {
    if (fsync === 'always') await syncDir(dir);
    else unsynced.dir = true;
  }

  async function sealActive(): Promise<void> {
    if (!active) return;
    const { fh } = active;
    active = undefined;
    if (fsync !== 'never') await fh.datasync();
    await fh.close();
  }

  async function dropSegment(index: number): Promise<void> {
    const seg = segments[index]!;
    if (active?.segment === seg) await sealActive();
    if (reader?.id === seg.id) {
      await reader.fh.close();
      reader = undefined;
    }
    segments.splice(index, 1);
    if (index === 0) head = { offset: 0, records: 0 };
    await unlink(seg.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await dirChanged();
  }

  /** Deletes leading segments that are sealed and fully consumed. */
  async function dropFinished(): Promise<void> {
    for (;;) {
      const first = segments[0];
      if (!first || active?.segment === first || head.offset < first.size) return;
      await dropSegment(0);
    }
  }

  async function saveCursor(): Promise<void> {
    const first = segments[0];
    await writeCursor(dir, first ? { segment: first.id, offset: head.offset } : { segment: nextId, offset: 0 }, fsync !== 'never');
    await dirChanged();
  }

  async function openNewSegment(): Promise<{ segment: SegmentState; fh: FileHandle }> {
    const id = nextId++;
    const path = join(dir, segmentName(id));
    const segment: SegmentState = { id, path, size: 0, records: 0, lastAppendAt: now() };
    const fh = await open(path, 'a');
    segments.push(segment);
    await dirChanged();
    return { segment, fh };
  }

  const EVICTION_WHY: Record<EvictionReason | 'disk-full', string> = {
    age: 'spool over its age limit',
    bytes: 'spool over its byte limit',
    'disk-full': 'spool disk full (ENOSPC)',
  };

  async function evictOldest(reason: EvictionReason | 'disk-full'): Promise<void> {
    const seg = segments[0]!;
    const lost = seg.records - head.records;
    counters.evictedFrames += lost;
    counters.evictedSegments += 1;
    if (reason === 'disk-full') counters.diskFullEvictions += 1;
    log.warn(`${EVICTION_WHY[reason]}: evicted the oldest segment`, {
      segment: segmentName(seg.id),
      frames: lost,
      maxBytes: options.maxBytes,
      maxAgeMs: options.maxAgeMs,
    });
    await dropSegment(0);
    await saveCursor();
  }

  async function skipCorrupt(seg: SegmentState, why: string): Promise<void> {
    const lost = Math.max(1, seg.records - head.records);
    counters.tornRecordsSkipped += lost;
    log.warn('spool segment is corrupt from here on; skipping the rest of it', { segment: segmentName(seg.id), offset: head.offset, frames: lost, why });
    if (active?.segment === seg) await sealActive();
    head = { offset: seg.size, records: seg.records };
    await dropFinished();
    await saveCursor();
  }

  async function readerFor(seg: SegmentState): Promise<FileHandle> {
    if (reader?.id === seg.id) return reader.fh;
    if (reader) await reader.fh.close();
    reader = { id: seg.id, fh: await open(seg.path, 'r') };
    return reader.fh;
  }

  return {
    counters,
    count: () => segments.length,
    /** Unacknowledged records on disk. */
    frames(): number {
      let n = 0;
      for (const s of segments) n += s.records;
      return n - head.records;
    },
    /** Unacknowledged framed bytes on disk. */
    bytes(): number {
      let n = 0;
      for (const s of segments) n += s.size;
      return n - head.offset;
    },

    /**
     * Appends framed records in order, rotating at segmentBytes.
     * `progress.written` counts those written when it throws; the segment
     * is then cut back to its last whole record and closed.
     */
    async write(batch: Buffer[], progress: { written: number }): Promise<void> {
      let i = 0;
      try {
        while (i < batch.length) {
          if (active && active.segment.size > 0 && active.segment.size + batch[i]!.length > options.segmentBytes) await sealActive();
          active ??= await openNewSegment();
          const seg = active.segment;
          const group: Buffer[] = [];
          let size = seg.size;
          while (i < batch.length && (group.length === 0 || size + batch[i]!.length <= options.segmentBytes)) {
            size += batch[i]!.length;
            group.push(batch[i++]!);
          }
          await writeAll(active.fh, group);
          seg.size = size;
          seg.records += group.length;
          seg.lastAppendAt = now();
          progress.written = i;
          if (fsync === 'always') await active.fh.datasync();
          else unsynced.data = true;
        }
      } catch (e) {
        if (active) {
          const { fh, segment } = active;
          active = undefined;
          await fh.truncate(segment.size).catch(() => undefined);
          await fh.close().catch(() => undefined);
          // An empty segment left behind would pile up with each failed write (a full disk).
          if (segment.records === 0) await dropSegment(segments.indexOf(segment)).catch(() => undefined);
        }
        throw e;
      }
    },

    /** The oldest unacknowledged records; a segment corrupt from the head on is skipped and counted. */
    async read(maxRecords: number, maxBytes: number): Promise<SpoolBatch | null> {
      for (;;) {
        const seg = segments[0];
        if (!seg) return null;
        if (head.offset >= seg.size) {
          if (active?.segment === seg) return null;
          await dropFinished();
          continue;
        }
        const parsed = await readRecords(await readerFor(seg), head.offset, seg.size, maxRecords, maxBytes);
        if (!parsed.ok) {
          await skipCorrupt(seg, parsed.why);
          continue;
        }
        return { records: parsed.records, bytes: parsed.bytes, segment: seg.id, start: { ...head }, ends: parsed.ends };
      }
    },

    async ack(batch: SpoolBatch, count: number): Promise<void> {
      const first = segments[0];
      const n = Math.min(count, batch.ends.length);
      const end = batch.ends[n - 1];
      // Evicted or skipped meanwhile, or acknowledged already: nothing to move.
      if (end === undefined || !first || first.id !== batch.segment || end <= head.offset) return;
      head = { offset: end, records: batch.start.records + n };
      await dropFinished();
      await saveCursor();
    },

    /** The disk is full: evicts the oldest segment (the one being written too, when it is the only one). False when nothing is left to free. */
    async evictForSpace(): Promise<boolean> {
      if (segments.length === 0 || (segments.length === 1 && segments[0]!.records === 0)) return false;
      await evictOldest('disk-full');
      return true;
    },

    /** Applies the byte and age limits, counting `pendingBytes` not yet written. */
    async enforceLimits(pendingBytes: number): Promise<void> {
      const views = segments.map((s) => ({ size: s.size, lastAppendAt: s.lastAppendAt, active: active?.segment === s }));
      for (const reason of planEviction(views, head.offset, pendingBytes, options, now())) await evictOldest(reason);
    },

    /** The `interval` tick: fsyncs what was written and the directory entries changed since the last one. */
    async syncChanged(): Promise<void> {
      if (unsynced.data && active) await active.fh.datasync();
      unsynced.data = false;
      if (unsynced.dir) {
        unsynced.dir = false;
        await syncDir(dir);
      }
    },
    needsSync: () => unsynced.data || unsynced.dir,

    /** Everything on disk and durable, whatever the policy. */
    async flush(): Promise<void> {
      if (active) await active.fh.datasync();
      unsynced.data = false;
      unsynced.dir = false;
      await syncDir(dir);
    },

    async close(): Promise<void> {
      if (active) {
        await active.fh.datasync();
        await active.fh.close();
        active = undefined;
      }
      if (reader) {
        await reader.fh.close();
        reader = undefined;
      }
      await saveCursor();
      if (fsync !== 'never') await syncDir(dir);
    },
  };
}

