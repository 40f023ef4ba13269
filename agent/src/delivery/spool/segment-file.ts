// One spool segment on disk: `<id>.seg`, a run of framed records
// (spool-record.ts). Scanning on open cuts a torn tail; reading parses whole
// records from the head and stops at the first one that fails its checks.
import { open, type FileHandle } from 'node:fs/promises';
import { MAX_RECORD_BYTES, RECORD_HEADER_BYTES, crc32, decodeSpoolPayload, type SpoolRecord } from '../spool-record.js';

const SEGMENT_RE = /^(\d{16})\.seg$/;

export const segmentName = (id: number): string => `${String(id).padStart(16, '0')}.seg`;

/** Segment ids among directory entries, oldest first. */
export function segmentIds(names: string[]): number[] {
  return names
    .map((n) => SEGMENT_RE.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

export interface Scan {
  /** Bytes of whole records (the file is truncated to this). */
  size: number;
  records: number;
  /** 1 when a torn tail was cut off. */
  torn: number;
  /** Records before `cursorOffset` when it falls on a record boundary, else -1. */
  recordsBeforeCursor: number;
}

/**
 * Walks a segment's record headers. A tail that is cut short, has an
 * impossible length, or whose last record fails its CRC is torn: the file is
 * truncated to the last whole record.
 */
export async function scanSegment(path: string, cursorOffset: number): Promise<Scan> {
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

export type ParsedRecords =
  | { ok: true; records: SpoolRecord[]; bytes: number; ends: number[] }
  | { ok: false; why: string };

/**
 * Whole records from `offset` (the head) of a segment of `size` bytes, at
 * most `maxRecords` and, after the first, `maxBytes` framed bytes. `ends` are
 * file offsets just past each record. Fails only when not even one record is
 * whole and valid: the segment is corrupt from here on.
 */
export async function readRecords(fh: FileHandle, offset: number, size: number, maxRecords: number, maxBytes: number): Promise<ParsedRecords> {
  const want = Math.min(size - offset, Math.max(maxBytes + RECORD_HEADER_BYTES * 64, 1 << 20));
  let buf = await readAt(fh, offset, want);
  const records: SpoolRecord[] = [];
  const ends: number[] = [];
  let pos = 0;
  let corrupt: string | undefined;
  while (records.length < maxRecords && pos + RECORD_HEADER_BYTES <= buf.length) {
    const len = buf.readUInt32BE(pos);
    if (len === 0 || len > MAX_RECORD_BYTES || offset + pos + RECORD_HEADER_BYTES + len > size) {
      corrupt = `bad record length ${len}`;
      break;
    }
    if (pos + RECORD_HEADER_BYTES + len > buf.length) {
      if (records.length > 0) break;
      buf = await readAt(fh, offset, RECORD_HEADER_BYTES + len);
    }
    if (records.length > 0 && pos + RECORD_HEADER_BYTES + len > maxBytes) break;
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
    ends.push(offset + pos);
  }
  if (records.length === 0) return { ok: false, why: corrupt ?? 'record header cut off' };
  return { ok: true, records, bytes: pos, ends };
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

/** Writes every byte of `buffers` (writev may write part of them). */
export async function writeAll(fh: FileHandle, buffers: Buffer[]): Promise<void> {
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
