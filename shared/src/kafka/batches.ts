// kafkajs puts every message of one send() for one partition into a single
// record batch, and the broker rejects a batch over max.message.bytes with
// MESSAGE_TOO_LARGE. A burst of large JPEGs in one send() would hit that, so
// sends are split here into groups whose per-partition size stays under a cap.

/** Record-batch framing per record: varint lengths, attributes, deltas, header names. */
const RECORD_OVERHEAD = 64;
/** Record-batch header (61 bytes) plus slack. */
export const BATCH_OVERHEAD = 128;

export interface SizedMessage {
  key?: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string | Buffer>;
  partition?: number;
}

export function recordSize(m: SizedMessage): number {
  let size = RECORD_OVERHEAD + byteLength(m.key) + byteLength(m.value);
  for (const [k, v] of Object.entries(m.headers ?? {})) size += Buffer.byteLength(k) + byteLength(v) + 4;
  return size;
}

function byteLength(v: Buffer | string | null | undefined): number {
  if (v === null || v === undefined) return 0;
  return typeof v === 'string' ? Buffer.byteLength(v) : v.length;
}

export class RecordTooLargeError extends Error {
  constructor(readonly size: number, readonly limit: number) {
    super(`record of ${size} bytes exceeds the batch limit of ${limit} bytes; raise the topic's max.message.bytes and the producer's maxBatchBytes, or lower the frame size`);
    this.name = 'RecordTooLargeError';
  }
}

/**
 * Splits messages (order kept) into consecutive groups such that, within a
 * group, the records bound for any one partition fit in maxBatchBytes. Every
 * message must carry an explicit partition. A single record over the limit
 * throws, since no split can help it.
 */
export function splitIntoBatches<T extends SizedMessage>(messages: T[], maxBatchBytes: number): T[][] {
  const groups: T[][] = [];
  let current: T[] = [];
  let perPartition = new Map<number, number>();
  for (const m of messages) {
    if (m.partition === undefined) throw new Error('splitIntoBatches: every message needs an explicit partition');
    const size = recordSize(m);
    if (size + BATCH_OVERHEAD > maxBatchBytes) throw new RecordTooLargeError(size, maxBatchBytes);
    const used = perPartition.get(m.partition) ?? BATCH_OVERHEAD;
    if (used + size > maxBatchBytes && current.length > 0) {
      groups.push(current);
      current = [];
      perPartition = new Map();
    }
    current.push(m);
    perPartition.set(m.partition, (perPartition.get(m.partition) ?? BATCH_OVERHEAD) + size);
  }
  if (current.length > 0) groups.push(current);
  return groups;
}
