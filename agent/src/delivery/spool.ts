// The reliable mode's on-disk spool: frames the broker could not take yet.
//
// Append-only segment files (<id>.seg, ids increasing) in one directory. Each
// record is framed with its length and CRC32 (spool-record.ts), so a record
// torn by power loss is recognised on open and cut off, and the records
// before it survive. Records are read from the head in order and acknowledged
// once the broker has them; a segment is deleted only when every record in it
// is acknowledged. The position of the head is kept in a small `head` file so
// a restart does not resend what the broker already acknowledged.
//
// Limits: total bytes and age, enforced by evicting whole segments, oldest
// first, and counting the frames lost that way. Every file operation runs on
// one serial chain, so appends, reads, acks and evictions never interleave.
import { mkdir, open, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@frameline/shared';
import {
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  crc32,
  decodeSpoolPayload,
  encodeSpoolRecord,
  type SpoolRecord,
} from './spool-record.js';

export type FsyncPolicy = 'always' | 'interval' | 'never';

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
  tornRecordsSkipped: number;
}

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

interface Segment {
  id: number;
  path: string;
  size: number;
  records: number;
  lastAppendAt: number;
}

export interface SpoolDeps {
  logger: Logger;
  /** Epoch ms; tests move time forward for the age limit. */
  now?: () => number;
}

const SEGMENT_RE = /^(\d{16})\.seg$/;
const segmentName = (id: number) => `${String(id).padStart(16, '0')}.seg`;

export async function openSpool(options: SpoolOptions, deps: SpoolDeps): Promise<Spool> {
  const log = deps.logger.child('spool', { dir: options.dir });
  const now = deps.now ?? Date.now;
  // A segment bigger than a quarter of the limit would make eviction too coarse.
  const segmentBytes = Math.max(1, Math.min(options.segmentBytes, Math.floor(options.maxBytes / 4)));
  await mkdir(options.dir, { recursive: true });

  const counters = { evictedFrames: 0, evictedSegments: 0, tornRecordsSkipped: 0 };
  const segments: Segment[] = [];
  /** Consumed part of segments[0]. */
  let head = { offset: 0, records: 0 };
  let active: { segment: Segment; fh: FileHandle } | undefined;
  let reader: { id: number; fh: FileHandle } | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let dirty = false;
  let closed = false;
  let writeScheduled = false;

  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  };

  // ------------------------------------------------------------- recovery
  const cursor = await readCursor(join(options.dir, 'head'));
  const ids = (await readdir(options.dir))
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const id of ids) {
    const path = join(options.dir, segmentName(id));
    if (cursor && id < cursor.segment) {
      // Fully acknowledged before the restart; only its deletion was lost.
      await unlink(path);
      continue;
    }
    const scan = await scanSegment(path, cursor?.segment === id ? cursor.offset : -1);
    if (scan.torn > 0) {
      counters.tornRecordsSkipped += scan.torn;
      log.warn('skipped a torn record at the end of a spool segment (power loss while writing?); the records before it are intact', {
        segment: segmentName(id),
        keptRecords: scan.records,
        keptBytes: scan.size,
      });
    }
    if (scan.records === 0) {
      await unlink(path);
      continue;
    }
    if (segments.length === 0 && cursor?.segment === id && scan.recordsBeforeCursor >= 0) {
      head = { offset: cursor.offset, records: scan.recordsBeforeCursor };
    }
    segments.push({ id, path, size: scan.size, records: scan.records, lastAppendAt: (await stat(path)).mtimeMs });
  }
  let nextId = (ids[ids.length - 1] ?? 0) + 1;
  if (segments.length > 0) {
    log.info('spool reopened', { frames: frames(), bytes: unackedBytes(), segments: segments.length });
  }

  // -------------------------------------------------------------- helpers
  function frames(): number {
    let n = 0;
    for (const s of segments) n += s.records;
    return n - head.records + pending.length;
  }

  function unackedBytes(): number {
    let n = 0;
    for (const s of segments) n += s.size;
    return n - head.offset + pendingBytes;
  }

  async function sealActive(): Promise<void> {
    if (!active) return;
    const { fh } = active;
    active = undefined;
    if (options.fsync !== 'never') await fh.datasync();
    await fh.close();
  }

  async function dropSegment(index: number): Promise<void> {
    const seg = segments[index]!;
    if (active?.segment === seg) {
      const { fh } = active;
      active = undefined;
      await fh.close();
    }
    if (reader?.id === seg.id) {
      await reader.fh.close();
      reader = undefined;
    }
    segments.splice(index, 1);
    if (index === 0) head = { offset: 0, records: 0 };
    await unlink(seg.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  }

  /** Deletes leading segments that are sealed and fully consumed. */
  async function dropFinished(): Promise<void> {
    for (;;) {
      const first = segments[0];
      if (!first || active?.segment === first || head.offset < first.size) return;
      await dropSegment(0);
    }
  }

  async function writeCursor(): Promise<void> {
    const first = segments[0];
    const file = join(options.dir, 'head');
    const text = JSON.stringify(first ? { segment: first.id, offset: head.offset } : { segment: nextId, offset: 0 });
    await writeFile(`${file}.tmp`, text);
    await rename(`${file}.tmp`, file);
  }

  async function writePending(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending;
      pending = [];
      pendingBytes = 0;
      let i = 0;
      let written = 0;
      try {
        while (i < batch.length) {
          if (active && active.segment.size > 0 && active.segment.size + batch[i]!.length > segmentBytes) await sealActive();
          if (!active) {
            const id = nextId++;
            const path = join(options.dir, segmentName(id));
            const segment: Segment = { id, path, size: 0, records: 0, lastAppendAt: now() };
            active = { segment, fh: await open(path, 'a') };
            segments.push(segment);
          }
          const seg = active.segment;
          const group: Buffer[] = [];
          let size = seg.size;
          while (i < batch.length && (group.length === 0 || size + batch[i]!.length <= segmentBytes)) {
            size += batch[i]!.length;
            group.push(batch[i++]!);
          }
          await writeAll(active.fh, group);
          seg.size = size;
          seg.records += group.length;
          seg.lastAppendAt = now();
          written = i;
          if (options.fsync === 'always') await active.fh.datasync();
          else dirty = true;
        }
      } catch (e) {
        // Keep what was not written; a half-written tail is cut off and the
        // segment closed, so the next write starts clean in a new one.
        const unwritten = batch.slice(written);
        pending = [...unwritten, ...pending];
        pendingBytes += unwritten.reduce((n, b) => n + b.length, 0);
        if (active) {
          const { fh, segment } = active;
          active = undefined;
          await fh.truncate(segment.size).catch(() => undefined);
          await fh.close().catch(() => undefined);
        }
        throw e;
      }
    }
    await enforceLimitsNow();
  }

  async function enforceLimitsNow(): Promise<void> {
    const t = now();
    // Age: oldest first, whole segments whose newest record is too old.
    while (options.maxAgeMs > 0 && segments.length > 0 && t - segments[0]!.lastAppendAt > options.maxAgeMs) {
      await evict(0, 'age');
    }
    while (unackedBytes() > options.maxBytes && segments.length > 0 && segments[0] !== active?.segment) {
      await evict(0, 'bytes');
    }
    if (unackedBytes() > options.maxBytes && active && segments.length === 1) {
      // Only the segment being written is left: close it so the next append starts fresh.
      await sealActive();
      await evict(0, 'bytes');
    }
  }

  async function evict(index: number, reason: 'age' | 'bytes'): Promise<void> {
    const seg = segments[index]!;
    const lost = seg.records - (index === 0 ? head.records : 0);
    counters.evictedFrames += lost;
    counters.evictedSegments += 1;
    log.warn(`spool over its ${reason === 'age' ? 'age' : 'byte'} limit: evicted the oldest segment`, {
      segment: segmentName(seg.id),
      frames: lost,
      maxBytes: options.maxBytes,
      maxAgeMs: options.maxAgeMs,
    });
    await dropSegment(index);
    await writeCursor();
  }

  async function readerFor(seg: Segment): Promise<FileHandle> {
    if (reader?.id === seg.id) return reader.fh;
    if (reader) await reader.fh.close();
    reader = { id: seg.id, fh: await open(seg.path, 'r') };
    return reader.fh;
  }

  async function skipCorrupt(seg: Segment, why: string): Promise<void> {
    const lost = Math.max(1, seg.records - head.records);
    counters.tornRecordsSkipped += lost;
    log.warn('spool segment is corrupt from here on; skipping the rest of it', {
      segment: segmentName(seg.id),
      offset: head.offset,
      frames: lost,
      why,
    });
    if (active?.segment === seg) await sealActive();
    head = { offset: seg.size, records: seg.records };
    await dropFinished();
    await writeCursor();
  }

  async function readNow(maxRecords: number, maxBytes: number): Promise<SpoolBatch | null> {
    await writePending();
    for (;;) {
      const seg = segments[0];
      if (!seg) return null;
      if (head.offset >= seg.size) {
        if (active?.segment === seg) return null;
        await dropFinished();
        continue;
      }
      const fh = await readerFor(seg);
      const want = Math.min(seg.size - head.offset, Math.max(maxBytes + RECORD_HEADER_BYTES * 64, 1 << 20));
      let buf = await readAt(fh, head.offset, want);
      const records: SpoolRecord[] = [];
      const ends: number[] = [];
      let pos = 0;
      let bytes = 0;
      let corrupt: string | undefined;
      while (records.length < maxRecords && pos + RECORD_HEADER_BYTES <= buf.length) {
        const len = buf.readUInt32BE(pos);
        if (len === 0 || len > MAX_RECORD_BYTES || head.offset + pos + RECORD_HEADER_BYTES + len > seg.size) {
          corrupt = `bad record length ${len}`;
          break;
        }
        if (pos + RECORD_HEADER_BYTES + len > buf.length) {
          if (records.length > 0) break;
          buf = await readAt(fh, head.offset, RECORD_HEADER_BYTES + len);
        }
        if (records.length > 0 && bytes + RECORD_HEADER_BYTES + len > maxBytes) break;
        const payload = buf.subarray(pos + RECORD_HEADER_BYTES, pos + RECORD_HEADER_BYTES + len);
        if (crc32(payload) !== buf.readUInt32BE(pos + 4)) {
          corrupt = 'CRC mismatch';
          break;
        }
        try {
          records.push(decodeSpoolPayload(payload));
        } catch (e) {
          corrupt = (e as Error).message;
          break;
        }
        pos += RECORD_HEADER_BYTES + len;
        bytes += RECORD_HEADER_BYTES + len;
        ends.push(head.offset + pos);
      }
      if (records.length === 0) {
        await skipCorrupt(seg, corrupt ?? 'record header cut off');
        continue;
      }
      return { records, bytes, segment: seg.id, start: { ...head }, ends };
    }
  }

  // --------------------------------------------------------------- timers
  const timers: NodeJS.Timeout[] = [];
  if (options.fsync === 'interval') {
    timers.push(
      setInterval(() => {
        if (!dirty || !active) return;
        void serial(async () => {
          if (!dirty || !active) return;
          dirty = false;
          await active.fh.datasync();
        }).catch((e: Error) => log.error('spool fsync failed', { error: e }));
      }, options.fsyncIntervalMs),
    );
  }
  if (options.maxAgeMs > 0) {
    timers.push(
      setInterval(() => {
        void serial(enforceLimitsNow).catch((e: Error) => log.error('spool limit check failed', { error: e }));
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

  return {
    append(record) {
      if (closed) return false;
      const framed = encodeSpoolRecord(record);
      if (framed.length > options.maxBytes || pendingBytes + framed.length > options.maxPendingBytes) return false;
      pending.push(framed);
      pendingBytes += framed.length;
      scheduleWrite();
      return true;
    },
    read: (maxRecords, maxBytes) => serial(() => readNow(Math.max(1, maxRecords), maxBytes)),
    ack: (batch, count = batch.records.length) =>
      serial(async () => {
        const first = segments[0];
        const end = batch.ends[Math.min(count, batch.ends.length) - 1];
        // Evicted or skipped meanwhile, or acknowledged already: nothing to move.
        if (closed || end === undefined || !first || first.id !== batch.segment || end <= head.offset) return;
        head = { offset: end, records: batch.start.records + Math.min(count, batch.ends.length) };
        await dropFinished();
        await writeCursor();
      }),
    frames,
    stats: () => ({ frames: frames(), bytes: unackedBytes(), segments: segments.length, ...counters }),
    flush: () =>
      serial(async () => {
        await writePending();
        if (active) await active.fh.datasync();
        dirty = false;
      }),
    enforceLimits: () => serial(enforceLimitsNow),
    close: () =>
      serial(async () => {
        closed = true;
        for (const t of timers) clearInterval(t);
        try {
          await writePending();
        } finally {
          if (active) {
            await active.fh.datasync();
            await active.fh.close();
            active = undefined;
          }
          if (reader) {
            await reader.fh.close();
            reader = undefined;
          }
          await writeCursor();
        }
      }),
  };
}

// ------------------------------------------------------------------ files

async function readCursor(file: string): Promise<{ segment: number; offset: number } | undefined> {
  try {
    const c = JSON.parse(await readFile(file, 'utf8')) as { segment?: unknown; offset?: unknown };
    if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset)) return { segment: c.segment as number, offset: c.offset as number };
  } catch {
    // Missing or torn: start from the oldest segment (resending beats losing).
  }
  return undefined;
}

interface Scan {
  size: number;
  records: number;
  torn: number;
  /** Records before `cursorOffset` when it falls on a record boundary, else -1. */
  recordsBeforeCursor: number;
}

/**
 * Walks a segment's record headers. A tail that is cut short, has an
 * impossible length, or whose last record fails its CRC is torn: the file is
 * truncated to the last whole record.
 */
async function scanSegment(path: string, cursorOffset: number): Promise<Scan> {
  const fh = await open(path, 'r+');
  try {
    const { size } = await fh.stat();
    let pos = 0;
    let records = 0;
    let recordsBeforeCursor = cursorOffset === 0 ? 0 : -1;
    let torn = 0;
    const header = Buffer.alloc(RECORD_HEADER_BYTES);
    while (pos < size) {
      if (size - pos < RECORD_HEADER_BYTES) {
        torn = 1;
        break;
      }
      await fh.read(header, 0, RECORD_HEADER_BYTES, pos);
      const len = header.readUInt32BE(0);
      const end = pos + RECORD_HEADER_BYTES + len;
      if (len === 0 || len > MAX_RECORD_BYTES || end > size) {
        torn = 1;
        break;
      }
      if (end === size) {
        const payload = await readAt(fh, pos + RECORD_HEADER_BYTES, len);
        if (crc32(payload) !== header.readUInt32BE(4)) {
          torn = 1;
          break;
        }
      }
      records++;
      pos = end;
      if (pos === cursorOffset) recordsBeforeCursor = records;
    }
    if (torn) await fh.truncate(pos);
    return { size: pos, records, torn, recordsBeforeCursor };
  } finally {
    await fh.close();
  }
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) return buf.subarray(0, done);
    done += bytesRead;
  }
  return buf;
}

async function writeAll(fh: FileHandle, buffers: Buffer[]): Promise<void> {
  let rest = buffers;
  while (rest.length > 0) {
    const { bytesWritten } = await fh.writev(rest);
    let n = bytesWritten;
    const next: Buffer[] = [];
    for (const b of rest) {
      if (n >= b.length) n -= b.length;
      else {
        next.push(n > 0 ? b.subarray(n) : b);
        n = 0;
      }
    }
    rest = next;
  }
}
