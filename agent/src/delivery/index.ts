// Delivery: hands frames to the broker, in order per camera, in one of two modes.
//
// live      acks=1, no waiting: a small in-memory queue; when the broker falls
//           behind or is away, the oldest queued frames are dropped and counted.
// reliable  acks=all, idempotent producer, one request in flight per topic;
//           frames the broker cannot take go to the on-disk spool. After an
//           outage the spool drains before new frames (`backfill: inline`, the
//           frames topic stays strictly ordered) or, rate-limited, to the
//           backfill topic while new frames go to the frames topic at once
//           (`backfill: separate`).
//
// A frame takes the memory path while the broker keeps up. It is diverted to
// the spool (reliable) when a send fails, when the broker is down, when the
// memory queue exceeds its bound, and, inline, while the spool still holds
// anything, so nothing overtakes an older frame of the same topic. Diverting
// waits for the request in flight, so a failed batch lands in the spool ahead
// of the frames queued behind it.
import {
  BATCH_OVERHEAD,
  encodeFrame,
  explainKafkaError,
  partitionFor,
  recordSize,
  splitIntoBatches,
  type Frame,
  type FrameMessage,
  type KafkaConnection,
  type Logger,
  type PartitioningMode,
} from '@frameline/shared';
import { createLink, kafkaErrorType, nextBackoffMs, type BrokerState, type KafkaFactory, type Link } from './link.js';
import { DEFAULT_SPOOL_OPTIONS, openSpool, type Spool, type SpoolBatch, type SpoolOptions } from './spool.js';
import type { SpoolRecord } from './spool-record.js';
import { createPacer, createSignal, sleep, within } from './signal.js';

export type { BrokerState, KafkaFactory } from './link.js';
export type { FsyncPolicy, SpoolOptions, SpoolStats } from './spool.js';
export { openSpool } from './spool.js';

export type DeliveryMode = 'live' | 'reliable';
export type BackfillMode = 'inline' | 'separate';
/** What happens to a new frame now: sent from memory, written to the spool, or at risk of being dropped. */
export type DeliveryPolicy = 'direct' | 'spooling' | 'dropping';
export type DropReason = 'queueFull' | 'sendFailed' | 'tooLarge' | 'rejected' | 'unroutable' | 'spoolFull' | 'stopped';

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
  topic: 'frames' | 'backfill';
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
  spooled: { frames: number; bytes: number; segments: number };
  /** Spooled frames lost to the spool's byte or age limit. */
  evicted: number;
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

interface Item {
  msg: SpoolRecord;
  size: number;
  submittedAt: number;
}

interface Job {
  lane: 'frames' | 'backfill';
  topic: string;
  /** Memory items (removed from the queue) or a spool batch (still in the spool). */
  items?: Item[];
  batch?: SpoolBatch;
  /** Candidates consumed when this job succeeds (sent ones and ones dropped on the way). */
  consumed: number;
  messages: FrameMessage[];
  bytes: number;
  abandoned: boolean;
}

/** The broker rejected the records themselves; a smaller batch or dropping the record helps, reconnecting does not. */
const RECORD_REJECTIONS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);
/** The broker no longer knows our idempotent producer id: start a new one. */
const PRODUCER_FENCED = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

export function createDelivery(options: DeliveryOptions, deps: DeliveryDeps): Delivery {
  const reliable = options.mode === 'reliable';
  const backfill: BackfillMode = options.backfill ?? 'inline';
  const separate = reliable && backfill === 'separate';
  const partitioning = options.partitioning ?? 'key';
  const queueBound = options.queue ?? (reliable ? { maxFrames: 100, maxBytes: 16 << 20 } : { maxFrames: 16, maxBytes: 4 << 20 });
  const maxBatchBytes = options.maxBatchBytes ?? 1 << 20;
  const maxBatchFrames = Math.max(1, options.maxBatchFrames ?? 100);
  const reconnect = options.reconnect ?? { initialMs: 250, maxMs: 5000 };
  const stopTimeoutMs = options.stopTimeoutMs ?? 5000;
  const log = deps.logger.child('delivery', { mode: options.mode });
  if (reliable && !options.spool) throw new Error('delivery mode "reliable" needs spool.dir (the spool directory under the state directory)');

  const link: Link = createLink(
    {
      kafka: options.kafka,
      reliable,
      topics: separate ? [options.topics.frames, options.topics.backfill] : [options.topics.frames],
      requestTimeoutMs: options.sendTimeoutMs ?? 5000,
      connectionTimeoutMs: options.connectionTimeoutMs ?? options.kafka.connectionTimeoutMs ?? 3000,
      retries: options.sendRetries ?? 2,
    },
    deps.logger,
    deps.kafkaFactory,
  );

  const changed = createSignal();
  const stopSignal = createSignal();
  const queue: Item[] = [];
  let queueBytes = 0;
  let spool: Spool | undefined;
  let mainJob: Job | undefined;
  let backfillJob: Job | undefined;
  let stopping = false;
  let closing = false;
  let started = false;
  let backoffAttempt = 0;
  /** From the first failed send or connection attempt until connected again (reconnect attempts included). */
  let outage = false;
  let lastError: string | null = null;
  let lastPolicy: DeliveryPolicy | undefined;
  const loops: Promise<void>[] = [];
  const counters = { sent: 0, acked: 0, backfillSent: 0 };
  const dropped: Record<DropReason, number> = {
    queueFull: 0,
    sendFailed: 0,
    tooLarge: 0,
    rejected: 0,
    unroutable: 0,
    spoolFull: 0,
    stopped: 0,
  };
  /** One-shot cap on the next batch per lane: resend a failed batch with the same records. */
  const nextMax = { frames: 0, backfill: 0 };
  const pacer = createPacer(options.drainRate ?? {});

  // ------------------------------------------------------------ policy

  function policy(): DeliveryPolicy {
    if (!reliable) return outage ? 'dropping' : 'direct';
    if (outage) return 'spooling';
    if (!separate && (spool?.frames() ?? 0) > 0) return 'spooling';
    return 'direct';
  }

  function notePolicy(): void {
    const p = policy();
    if (p === lastPolicy) return;
    lastPolicy = p;
    const fields = { broker: link.state, queued: queue.length, spooled: spool?.frames() ?? 0 };
    if (p === 'dropping') log.warn('broker unavailable: dropping the oldest queued frames beyond the queue bound', fields);
    else if (p === 'spooling') log.warn('writing new frames to the spool until the broker has caught up', fields);
    else log.info('sending frames directly', fields);
  }

  function drop(reason: DropReason, count = 1): void {
    dropped[reason] += count;
  }

  function pushQueue(item: Item): void {
    queue.push(item);
    queueBytes += item.size;
  }

  function shiftQueue(n: number): Item[] {
    const items = queue.splice(0, n);
    for (const i of items) queueBytes -= i.size;
    return items;
  }

  const overBound = () => queue.length > queueBound.maxFrames || queueBytes > queueBound.maxBytes;

  function toSpool(items: Item[]): void {
    for (const item of items) if (!spool!.append(item.msg)) drop('spoolFull');
    changed.notify();
  }

  /** Reliable: move the memory queue into the spool when the memory path cannot be used. */
  function maybeSpill(): void {
    if (!reliable || !spool || mainJob?.items) return;
    if (queue.length === 0) return;
    const spoolFirst = !separate && spool.frames() > 0;
    if (outage || overBound() || spoolFirst || closing) toSpool(shiftQueue(queue.length));
  }

  // ------------------------------------------------------------ submit

  function submit(frame: Frame): void {
    if (stopping) return drop('stopped');
    const msg = encodeFrame(frame);
    const size = recordSize(msg);
    if (size + BATCH_OVERHEAD > maxBatchBytes) {
      lastError = `a frame of ${size} bytes exceeds maxBatchBytes ${maxBatchBytes}; raise it (and the topic's max.message.bytes) or lower the resolution`;
      return drop('tooLarge');
    }
    const item: Item = { msg, size, submittedAt: Date.now() };
    if (!reliable) {
      pushQueue(item);
      while (overBound() && queue.length > 1) {
        shiftQueue(1);
        drop('queueFull');
      }
    } else if (!separate && spool && spool.frames() > 0 && !mainJob?.items) {
      toSpool([item]);
    } else {
      pushQueue(item);
      maybeSpill();
    }
    notePolicy();
    changed.notify();
  }

  // ------------------------------------------------------------- sending

  /** Messages with partitions for the first candidates that fit one request; drops what cannot be routed. */
  function plan(lane: 'frames' | 'backfill', candidates: SpoolRecord[]): { messages: FrameMessage[]; consumed: number; bytes: number } {
    const topic = lane === 'frames' ? options.topics.frames : options.topics.backfill;
    const partitions = link.partitions(topic);
    const routed: { index: number; message: FrameMessage }[] = [];
    candidates.forEach((record, index) => {
      if (recordSize(record) + BATCH_OVERHEAD > maxBatchBytes) return drop('tooLarge');
      try {
        const partition = partitionFor(record.key.toString('utf8'), partitions ?? 1, partitioning);
        routed.push({ index, message: { ...record, partition } });
      } catch (e) {
        lastError = (e as Error).message;
        drop('unroutable');
      }
    });
    if (routed.length === 0) return { messages: [], consumed: candidates.length, bytes: 0 };
    const first = splitIntoBatches(
      routed.map((r) => r.message),
      maxBatchBytes,
    )[0]!;
    const consumed = routed[first.length - 1]!.index + 1;
    return { messages: first, consumed, bytes: first.reduce((n, m) => n + recordSize(m), 0) };
  }

  async function nextJob(lane: 'frames' | 'backfill'): Promise<Job | undefined> {
    const topic = lane === 'frames' ? options.topics.frames : options.topics.backfill;
    const cap = nextMax[lane] || maxBatchFrames;
    const fromSpool = lane === 'backfill' || (reliable && !separate && spool!.frames() > 0);
    if (fromSpool) {
      const limit = lane === 'backfill' ? pacer.batchLimit(cap, maxBatchBytes) : { frames: cap, bytes: maxBatchBytes };
      const batch = await spool!.read(limit.frames, limit.bytes);
      if (!batch) return undefined;
      nextMax[lane] = 0;
      const p = plan(lane, batch.records);
      return { lane, topic, batch, ...p, abandoned: false };
    }
    if (queue.length === 0) return undefined;
    nextMax[lane] = 0;
    const p = plan(
      lane,
      queue.slice(0, cap).map((i) => i.msg),
    );
    const items = shiftQueue(p.consumed);
    const job: Job = { lane, topic, items, ...p, abandoned: false };
    // Claimed before any await, so submit() cannot divert frames behind it into the spool.
    if (lane === 'frames') mainJob = job;
    return job;
  }

  async function finish(job: Job, count: number): Promise<void> {
    if (job.batch) await spool!.ack(job.batch, count);
  }

  function reportSent(job: Job): void {
    counters.acked += job.messages.length;
    if (job.batch) counters.backfillSent += job.messages.length;
    if (!options.onSent) return;
    const now = Date.now();
    const topic = job.lane;
    if (job.items) {
      for (const item of job.items) options.onSent(now - item.submittedAt, { topic, spooled: false });
    } else {
      for (const m of job.messages) options.onSent(now - Number(m.timestamp), { topic, spooled: true });
    }
  }

  async function execute(job: Job): Promise<void> {
    if (job.messages.length === 0) {
      await finish(job, job.consumed);
      return;
    }
    counters.sent += job.messages.length;
    try {
      await link.send(job.topic, job.messages);
    } catch (e) {
      if (job.abandoned) return;
      await onSendFailed(job, e);
      return;
    }
    if (job.abandoned) return;
    backoffAttempt = 0;
    reportSent(job);
    await finish(job, job.consumed);
    if (job.lane === 'frames') mainJob = undefined;
    maybeSpill();
    notePolicy();
  }

  async function onSendFailed(job: Job, e: unknown): Promise<void> {
    const type = kafkaErrorType(e);
    const n = job.messages.length;
    if (type && RECORD_REJECTIONS.has(type)) {
      if (n > 1) {
        // Halve and retry: the records are fine one by one, or one of them is not.
        nextMax[job.lane] = Math.ceil(job.consumed / 2);
        if (job.items) requeueFront(job.items);
      } else {
        lastError = `the broker rejected a frame (${type}); dropped it`;
        log.warn(lastError, { topic: job.topic });
        drop('rejected');
        await finish(job, job.consumed);
      }
      if (job.lane === 'frames') mainJob = undefined;
      return;
    }
    lastError = explainKafkaError(e, options.kafka).message;
    if (type && PRODUCER_FENCED.has(type)) {
      log.warn('the broker no longer accepts our idempotent producer id; starting a new producer', { error: lastError });
      await link.renewProducer();
    }
    const wasConnected = link.state === 'connected';
    link.markDown();
    outage = true;
    if (wasConnected) log.warn('send failed; broker marked down', { topic: job.topic, frames: n, error: lastError });
    if (job.items) {
      if (reliable) {
        // Same records, same order: the resend after reconnect is the same
        // batch, so the idempotent producer's sequence numbers line up again.
        if (!separate) nextMax.frames = job.consumed;
        if (job.lane === 'frames') mainJob = undefined;
        toSpool(job.items);
        maybeSpill();
      } else {
        drop('sendFailed', n);
        if (job.lane === 'frames') mainJob = undefined;
      }
    } else {
      nextMax[job.lane] = job.consumed;
    }
    notePolicy();
    changed.notify();
  }

  function requeueFront(items: Item[]): void {
    queue.unshift(...items);
    for (const i of items) queueBytes += i.size;
  }

  async function runLane(lane: 'frames' | 'backfill'): Promise<void> {
    while (!closing) {
      const gen = changed.generation;
      if (link.state !== 'connected' || (lane === 'backfill' && stopping)) {
        await changed.wait(gen);
        continue;
      }
      let job: Job | undefined;
      try {
        job = await nextJob(lane);
      } catch (e) {
        lastError = `reading the spool failed: ${(e as Error).message}`;
        log.error(lastError);
        await sleep(1000, stopSignal);
        continue;
      }
      if (!job) {
        await changed.wait(gen);
        continue;
      }
      if (lane === 'backfill') {
        const wait = pacer.reserve(job.messages.length, job.bytes);
        if (wait > 0) await sleep(wait, stopSignal);
        if (closing) break;
      }
      if (lane === 'frames') mainJob = job;
      else backfillJob = job;
      try {
        await execute(job);
      } catch (e) {
        lastError = `delivery failed: ${(e as Error).message}`;
        log.error(lastError);
      } finally {
        if (lane === 'frames' && mainJob === job) mainJob = undefined;
        if (lane === 'backfill' && backfillJob === job) backfillJob = undefined;
      }
      changed.notify();
    }
  }

  async function runConnection(): Promise<void> {
    let downSince: number | undefined;
    let warned = false;
    while (!closing) {
      const gen = changed.generation;
      if (link.state === 'connected') {
        await changed.wait(gen);
        continue;
      }
      downSince ??= Date.now();
      try {
        await link.connect();
      } catch (e) {
        lastError = `broker unreachable: ${explainKafkaError(e, options.kafka).message}`;
        outage = true;
        const delay = nextBackoffMs(backoffAttempt++, reconnect.initialMs, reconnect.maxMs);
        // Once per outage at warn; every attempt after that at debug, so a long outage does not flood the journal.
        (warned ? log.debug : log.warn)('broker unreachable; reconnecting in the background', { inMs: delay, error: lastError, policy: policy() });
        warned = true;
        maybeSpill();
        notePolicy();
        changed.notify();
        await sleep(delay, stopSignal);
        continue;
      }
      log.info('connected to the broker', { afterMs: Date.now() - downSince, spooled: spool?.frames() ?? 0, queued: queue.length });
      downSince = undefined;
      warned = false;
      outage = false;
      lastError = null;
      maybeSpill();
      notePolicy();
      changed.notify();
    }
  }

  // ----------------------------------------------------------- lifecycle

  async function start(): Promise<void> {
    if (started) throw new Error('delivery already started');
    started = true;
    if (reliable) {
      const o = options.spool!;
      spool = await openSpool({ ...DEFAULT_SPOOL_OPTIONS, ...o }, { logger: deps.logger });
    }
    const firstAttempt = new Promise<void>((resolve) => {
      const check = (): void => {
        if (link.state === 'connected' || lastError !== null || closing) return resolve();
        void changed.wait(changed.generation).then(check);
      };
      check();
    });
    loops.push(runConnection(), runLane('frames'));
    if (separate) loops.push(runLane('backfill'));
    // Reliable is ready once the spool is open; live waits for the first attempt.
    if (!reliable) await firstAttempt;
    notePolicy();
  }

  let stopped: Promise<void> | undefined;
  function stop(): Promise<void> {
    stopped ??= doStop();
    return stopped;
  }

  async function doStop(): Promise<void> {
    const deadline = Date.now() + stopTimeoutMs;
    stopping = true;
    changed.notify();
    // Flush the memory queue while the broker takes it.
    while (Date.now() < deadline && link.state === 'connected' && (queue.length > 0 || mainJob?.items)) {
      await within(changed.wait(changed.generation), deadline - Date.now());
    }
    closing = true;
    changed.notify();
    stopSignal.notify();
    await within(Promise.allSettled(loops), deadline - Date.now());
    // Requests still unanswered: their frames count as unsent (resent, perhaps twice, after restart).
    const unsent: Item[] = [];
    for (const job of [mainJob, backfillJob]) {
      if (!job) continue;
      job.abandoned = true;
      if (job.items) unsent.push(...job.items);
    }
    unsent.push(...shiftQueue(queue.length));
    if (reliable && spool) {
      for (const item of unsent) if (!spool.append(item.msg)) drop('spoolFull');
      try {
        await spool.close();
      } catch (e) {
        lastError = `closing the spool failed: ${(e as Error).message}`;
        log.error(lastError);
      }
    } else {
      drop('stopped', unsent.length);
    }
    await within(link.close(), 2000);
    log.info('delivery stopped', { acked: counters.acked, spooled: spool?.frames() ?? 0 });
  }

  function status(): DeliveryStatus {
    const s = spool?.stats();
    return {
      mode: options.mode,
      backfill,
      broker: link.state,
      policy: policy(),
      sent: counters.sent,
      acked: counters.acked,
      dropped: { ...dropped },
      queued: { frames: queue.length, bytes: queueBytes },
      spooled: { frames: s?.frames ?? 0, bytes: s?.bytes ?? 0, segments: s?.segments ?? 0 },
      evicted: s?.evictedFrames ?? 0,
      tornRecordsSkipped: s?.tornRecordsSkipped ?? 0,
      backfillSent: counters.backfillSent,
      lastError,
    };
  }

  return { start, submit, stop, status };
}
