// Delivery's counters and last error, shared by the loops and read by status().
import type { DropReason } from './types.js';

export interface Tally {
  /** Frames put into produce requests (a retried frame counts again). */
  sent: number;
  /** Frames the broker acknowledged, on either topic. */
  acked: number;
  /** Acknowledged frames that came from the spool. */
  backfillSent: number;
  dropped: Record<DropReason, number>;
  /** What went wrong last, in words for the operator; cleared on reconnect. */
  lastError: string | null;
}

export function createTally(): Tally {
  return {
    sent: 0,
    acked: 0,
    backfillSent: 0,
    dropped: { queueFull: 0, sendFailed: 0, tooLarge: 0, rejected: 0, unroutable: 0, spoolFull: 0, stopped: 0 },
    lastError: null,
  };
}
