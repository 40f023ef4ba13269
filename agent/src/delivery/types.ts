// Delivery's public shapes: options from config, the status that the status
// line and /metrics read.
import type { Frame, KafkaConnection, Logger, PartitioningMode } from '@frameline/shared';
import type { BrokerState, KafkaFactory } from './link.js';
import type { SpoolOptions } from './spool.js';

export type DeliveryMode = 'live' | 'reliable';
export type BackfillMode = 'inline' | 'separate';
/** What happens to a new frame now: sent from memory, written to the spool, or at risk of being dropped. */
export type DeliveryPolicy = 'direct' | 'spooling' | 'dropping';
export type DropReason = 'queueFull' | 'sendFailed' | 'tooLarge' | 'rejected' | 'unroutable' | 'spoolFull' | 'stopped';
export type LaneName = 'frames' | 'backfill';

export interface DeliveryOptions {
  mode: DeliveryMode;
  /** Reliable mode only: how the spool drains after an outage. Default `inline`. */
  backfill?: BackfillMode;
  topics: { frames: string; backfill: string };
  /** Default `key` (murmur2 of the camera id). */
  partitioning?: PartitioningMode;
  kafka: KafkaConnection;
  /** In-memory queue: live drops the oldest beyond it, reliable moves the queue to the spool. */
  queue?: { maxFrames: number; maxBytes: number };
  /** Per request and partition, as the topic's max.message.bytes allows. Default 1 MiB. */
  maxBatchBytes?: number;
  /** Frames per request at most. Default 100. */
  maxBatchFrames?: number;
  /** Required in reliable mode; limits default to DEFAULT_SPOOL_OPTIONS. */
  spool?: Partial<SpoolOptions> & { dir: string };
  /** `separate` backfill: drain pace (either or both); unlimited when absent. */
  drainRate?: { framesPerSec?: number; bytesPerSec?: number };
  /** A request not answered by then fails (and spools or drops). Default 5000. */
  sendTimeoutMs?: number;
  /** kafkajs's internal retries per send before it fails. Default 2. */
  sendRetries?: number;
  connectionTimeoutMs?: number;
  /** Reconnect backoff (jittered, doubling from initialMs up to maxMs). */
  reconnect?: { initialMs: number; maxMs: number };
  /** stop() flushes for at most this long. Default 5000. */
  stopTimeoutMs?: number;
  /** Called for every acknowledged frame: ms from submit (or capture, for spooled frames) to ack. */
  onSent?: (latencyMs: number, sample: SentSample) => void;
}

export interface SentSample {
  topic: LaneName;
  /** The frame went through the spool (its latency includes the outage). */
  spooled: boolean;
}

export interface DeliveryDeps {
  logger: Logger;
  /** Defaults to shared's createKafka. */
  kafkaFactory?: KafkaFactory;
}

export interface DeliveryStatus {
  mode: DeliveryMode;
  backfill: BackfillMode;
  broker: BrokerState;
  policy: DeliveryPolicy;
  /** Frames put into produce requests (a retried frame counts again). */
  sent: number;
  /** Frames the broker acknowledged, on either topic. */
  acked: number;
  dropped: Record<DropReason, number>;
  queued: { frames: number; bytes: number };
  /** oldestAt: capture time (epoch ms) of the oldest spooled frame; null when empty. */
  spooled: { frames: number; bytes: number; segments: number; oldestAt: number | null };
  /** Spooled frames lost to the spool's byte or age limit. */
  evicted: number;
  /** The spool's disk is full: the oldest spooled frames are being evicted to make room (counted in evicted). */
  spoolDiskFull: boolean;
  tornRecordsSkipped: number;
  /** Spooled frames acknowledged by the broker (on the backfill topic when `separate`). */
  backfillSent: number;
  lastError: string | null;
}

export interface Delivery {
  /** Opens the spool (reliable) or makes the first connection attempt (live); reconnects in the background. */
  start(): Promise<void>;
  /** Never blocks; memory is bounded by the queue (and the spool's write backlog). */
  submit(frame: Frame): void;
  /** Flushes within stopTimeoutMs; in reliable mode all unsent frames are in the spool, fsynced, when it resolves. */
  stop(): Promise<void>;
  status(): DeliveryStatus;
}
