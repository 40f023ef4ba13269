// One produce request from the oldest waiting records: each routed to its
// partition, as many as fit the request's byte limit, in order. Records that
// can never be sent (too large, unroutable) are consumed and reported, so
// they do not block the ones behind them.
import { BATCH_OVERHEAD, partitionFor, recordSize, splitIntoBatches, type FrameMessage, type PartitioningMode } from '@frameline/shared';
import type { SpoolRecord } from './spool-record.js';

export interface RequestPlan {
  messages: FrameMessage[];
  /** Candidates used up: sent, or dropped on the way (those before the last one sent). */
  consumed: number;
  /** recordSize() sum of the messages. */
  bytes: number;
  tooLarge: number;
  unroutable: number;
  /** Why the last unroutable record could not be routed. */
  error?: string;
}

/**
 * Plans a request from `candidates` (oldest first) for a topic of
 * `partitions` partitions (1 when unknown), under `maxBatchBytes` per
 * request.
 */
export function planRequest(candidates: SpoolRecord[], partitions: number | undefined, maxBatchBytes: number, partitioning: PartitioningMode): RequestPlan {
  const routed: { index: number; message: FrameMessage }[] = [];
  const refused: { index: number; why: 'tooLarge' | 'unroutable' }[] = [];
  let error: string | undefined;
  candidates.forEach((record, index) => {
    if (recordSize(record) + BATCH_OVERHEAD > maxBatchBytes) return refused.push({ index, why: 'tooLarge' });
    try {
      routed.push({ index, message: { ...record, partition: partitionFor(record.key.toString('utf8'), partitions ?? 1, partitioning) } });
    } catch (e) {
      error = (e as Error).message;
      refused.push({ index, why: 'unroutable' });
    }
  });
  const first = routed.length > 0 ? splitIntoBatches(routed.map((r) => r.message), maxBatchBytes)[0]! : [];
  const consumed = first.length > 0 ? routed[first.length - 1]!.index + 1 : candidates.length;
  // Refused candidates after the last one sent stay for the next request and are counted then.
  const counted = refused.filter((r) => r.index < consumed);
  return {
    messages: first,
    consumed,
    bytes: first.reduce((n, m) => n + recordSize(m), 0),
    tooLarge: counted.filter((r) => r.why === 'tooLarge').length,
    unroutable: counted.filter((r) => r.why === 'unroutable').length,
    ...(error !== undefined ? { error } : {}),
  };
}
