// Reopening a spool directory after a restart or a crash: which segments
// hold unacknowledged records, where the head is, what was torn.
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@frameline/shared';
import { readCursor } from './cursor.js';
import { scanSegment, segmentIds, segmentName } from './segment-file.js';

export interface SegmentState {
  id: number;
  path: string;
  size: number;
  records: number;
  /** Epoch ms of its newest record. */
  lastAppendAt: number;
}

export interface Recovered {
  segments: SegmentState[];
  /** Acknowledged part of segments[0]. */
  head: { offset: number; records: number };
  /** The id for the next new segment. */
  nextId: number;
  tornRecords: number;
  /** Segment files were deleted (their directory needs a sync). */
  removedFiles: boolean;
}

/**
 * Deletes segments the cursor says are acknowledged and segments left with
 * no whole record, cuts torn tails, and places the head at the cursor when
 * it falls on a record boundary (else at the oldest record: resending beats
 * losing).
 */
export async function recoverSpool(dir: string, log: Logger): Promise<Recovered> {
  const cursor = await readCursor(dir);
  const ids = segmentIds(await readdir(dir));
  const out: Recovered = { segments: [], head: { offset: 0, records: 0 }, nextId: 1, tornRecords: 0, removedFiles: false };
  for (const id of ids) {
    const path = join(dir, segmentName(id));
    if (cursor && id < cursor.segment) {
      // Fully acknowledged before the restart; only its deletion was lost.
      await unlink(path);
      out.removedFiles = true;
      continue;
    }
    const scan = await scanSegment(path, cursor?.segment === id ? cursor.offset : -1);
    if (scan.torn > 0) {
      out.tornRecords += scan.torn;
      log.warn('skipped a torn record at the end of a spool segment (power loss while writing?); the records before it are intact', {
        segment: segmentName(id),
        keptRecords: scan.records,
        keptBytes: scan.size,
      });
    }
    if (scan.records === 0) {
      await unlink(path);
      out.removedFiles = true;
      continue;
    }
    if (out.segments.length === 0 && cursor?.segment === id && scan.recordsBeforeCursor >= 0) {
      out.head = { offset: cursor.offset, records: scan.recordsBeforeCursor };
    }
    out.segments.push({ id, path, size: scan.size, records: scan.records, lastAppendAt: (await stat(path)).mtimeMs });
  }
  // Never reuse an id the cursor has named: an empty spool's cursor points at
  // the next id, and a new segment below it would be deleted as acknowledged.
  out.nextId = Math.max((ids[ids.length - 1] ?? 0) + 1, cursor?.segment ?? 0, 1);
  return out;
}
