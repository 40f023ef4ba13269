// What ingest hands on to the next stage of the journey: each consumed frame
// as a Job, offered to a FrameSink (the scheduler implements it), and the
// counters ingest writes. Later stages import these; ingest imports nothing
// from them.
import type { Counter } from 'prom-client';
import type { Frame } from '@frameline/shared';
import type { Ticket } from './offsets.js';

/** Which topic a frame came from: live frames, or frames an agent spooled during an outage. */
export type Source = 'live' | 'backfill';

/** A frame on its way through the service, with what is needed to finish its offset or dead-letter it. */
export interface Job {
  frame: Frame;
  source: Source;
  ticket: Ticket;
  /** Epoch ms: when the record was consumed. */
  ingestedAt: number;
  /** Added to the frame's capture time for its age: the camera's clock offset (see ingest/clock.ts). */
  clockCorrectionMs?: number;
  /** The record as consumed, for the DLQ when the JPEG turns out undecodable. */
  origin: { key: Buffer | null; headers: Record<string, unknown>; timestamp: string };
}

/** Where the consumer puts frames, without waiting for them to be inferred. */
export interface FrameSink {
  offerLive(job: Job): void;
  /** Queues a backfill frame; the consumer pauses the backfill topic when backfillRoom() is 0. */
  offerBackfill(job: Job): void;
  backfillRoom(): number;
  /** Forgets waiting frames (after a rebalance they will be consumed again). */
  reset(): void;
}

/** The Prometheus counters ingest increments (web/metrics.ts registers them). */
export interface IngestMetrics {
  consumed: Counter<'source'>;
  skipped: Counter<'reason'>;
  dlq: Counter<'code'>;
  gaps: Counter;
  runResets: Counter;
}

export interface LagEntry {
  topic: string;
  partition: number;
  /** Newest offset in the partition minus the group's committed offset. */
  lag: number;
}
