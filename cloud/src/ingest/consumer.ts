// The consume loop: a kafkajs consumer group on the INTERNAL listener that
// reads live and backfill frames at network speed and hands each one on
// without waiting for inference. Offsets are committed by the tracker's rule
// (everything below the lowest frame still in work), never on consumption.
import type { Admin, Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { FrameValidationError, H, decodeFrame, headerString, type Logger } from '@frameline/shared';
import type { CloudConfig } from '../config.js';
import { createCameraAdmission } from './cameras.js';
import { createCameraClocks } from './clock.js';
import type { DeadLetter } from './dlq.js';
import type { FrameSink, IngestMetrics, Job, LagEntry, Source } from './handoff.js';
import type { OffsetTracker } from './offsets.js';
import type { Windows } from './window.js';

export interface IngestHealth {
  running: boolean;
  crashed?: string;
  lastFetchAt: number;
  lastBatchAt: number;
  /** Records consumed, and of those the invalid ones (dead-lettered or skipped). */
  consumed: number;
  invalid: number;
  /** Frames fetched again after a rebalance that this instance had already taken (skipped as replayed). */
  replayed: number;
  /** Doctor probe records (not frames). */
  probes: number;
}

export interface Ingest {
  start(): Promise<void>;
  /** Stops fetching (the group membership stays, so offsets can still be committed). */
  pause(): void;
  resumeBackfill(): void;
  commit(): Promise<void>;
  /** Commits what is done and leaves the group. */
  stop(): Promise<void>;
  lag(): Promise<LagEntry[]>;
  health(): IngestHealth;
  /** Per camera, ms added to its capture times because its clock disagrees with ours. */
  clockCorrections(): Map<string, number>;
  /** Per camera, times its capture clock stepped back within a run. */
  clockSteps(): Map<string, number>;
  /** Whether this instance holds the partition in the group now (false while a rebalance is under way). */
  owns(topic: string, partition: number): boolean;
}

export interface IngestDeps {
  kafka: Kafka;
  config: CloudConfig;
  logger: Logger;
  metrics: IngestMetrics;
  tracker: OffsetTracker;
  windows: Windows;
  /** The next stage (the scheduler). */
  scheduler: FrameSink;
  dlq: DeadLetter;
}

/** Records from a partition's end that count as just produced. */
const FRESH_RECORDS = 10;

export function createIngest(deps: IngestDeps): Ingest {
  const { config, tracker, windows, scheduler, metrics, dlq } = deps;
  const log = deps.logger.child('ingest');
  const clocks = createCameraClocks(log, { maxCameras: config.ingest.maxCameras });
  const cameras = createCameraAdmission(config.ingest.maxCameras);
  const topics = config.ingest.backfill ? [config.topics.frames, config.topics.backfill] : [config.topics.frames];
  const consumer: Consumer = deps.kafka.consumer({
    groupId: config.kafka.groupId,
    sessionTimeout: config.kafka.sessionTimeout,
    heartbeatInterval: Math.max(500, Math.floor(config.kafka.sessionTimeout / 10)),
    rebalanceTimeout: Math.max(config.kafka.sessionTimeout * 2, 10_000),
    maxBytesPerPartition: config.kafka.maxFetchBytes,
    maxBytes: config.kafka.maxFetchBytes,
    maxWaitTimeInMs: 250,
  });
  let admin: Admin | undefined;
  let running = false;
  let crashed: string | undefined;
  let lastFetchAt = Date.now();
  let lastBatchAt = Date.now();
  let consumed = 0;
  let invalid = 0;
  let replayed = 0;
  let probes = 0;
  let backfillPaused = false;
  let committing: Promise<void> | undefined;
  // Per topic/partition: the previous batch ended at the partition's end, so
  // this batch holds records produced since that fetch, not a backlog.
  const caughtUp = new Set<string>();
  let commitTimer: NodeJS.Timeout | undefined;

  consumer.on(consumer.events.FETCH, () => void (lastFetchAt = Date.now()));
  let assignment: Record<string, number[]> = {};
  consumer.on(consumer.events.REBALANCING, () => void (assignment = {}));
  consumer.on(consumer.events.STOP, () => void (assignment = {}));
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    assignment = e.payload.memberAssignment;
    // After a rebalance kafkajs fetches again from the committed offsets: frames
    // waiting here may now belong to another instance, so start afresh.
    tracker.reset();
    scheduler.reset();
    caughtUp.clear();
    log.info('partitions assigned', { group: e.payload.groupId, assignment: e.payload.memberAssignment });
  });
  consumer.on(consumer.events.CRASH, (e) => {
    const error = e.payload.error;
    assignment = {};
    log.error('consumer crashed', { error, restart: e.payload.restart });
    if (!e.payload.restart) crashed = error.message;
  });

  const decodeOptions = (topic: string, partition: number) => ({
    maxBytes: config.ingest.maxFrameBytes,
    maxPixels: config.ingest.maxFramePixels,
    cameraFrom: config.ingest.cameraFrom,
    cameraPrefix: config.ingest.cameraPrefix,
    topic,
    partition,
  });

  async function take(topic: string, partition: number, message: KafkaMessage, source: Source, fresh: boolean): Promise<void> {
    metrics.consumed.inc({ source });
    consumed++;
    const ticket = tracker.track(topic, partition, message.offset);
    const ingestedAt = Date.now();
    if (headerString(message.headers, H.probe) !== undefined) {
      // `frameline-agent doctor` proving it may write: not a frame, not an error.
      log.debug('skipped a doctor probe record', { topic, partition, offset: message.offset });
      probes++;
      ticket.complete();
      return;
    }
    let frame;
    try {
      frame = decodeFrame(message, decodeOptions(topic, partition));
      if (!cameras.admit(frame.camera)) {
        throw new FrameValidationError('too-many-cameras', `camera ${frame.camera} would be camera ${config.ingest.maxCameras + 1} of this instance, above ingest.maxCameras`);
      }
    } catch (err) {
      if (!(err instanceof FrameValidationError)) throw err;
      metrics.dlq.inc({ code: err.code });
      invalid++;
      await dlq.send(message, err.header, { topic, partition, offset: message.offset });
      ticket.complete();
      return;
    }
    // Own copy: kafkajs values are slices of the whole fetch response, which a
    // window of slices would keep alive.
    frame.jpeg = Buffer.from(frame.jpeg);
    if (source === 'live') clocks.observe({ camera: frame.camera, run: frame.run, seq: frame.seq, ingestedAt, capturedAt: frame.capturedAt, fresh });
    const job: Job = { frame, source, ticket, ingestedAt, clockCorrectionMs: clocks.correction(frame.camera), origin: { key: message.key, headers: message.headers ?? {}, timestamp: message.timestamp } };
    if (source === 'backfill') {
      scheduler.offerBackfill(job);
      return;
    }
    const pushed = windows.push(frame, ingestedAt);
    if (pushed.stale) {
      // Fetched again after a rebalance (from the last committed offset): this
      // instance already took a newer frame of the camera, and latest wins, so
      // re-inferring it would only publish an older result after a newer one.
      metrics.skipped.inc({ reason: 'replayed' });
      replayed++;
      ticket.complete();
      return;
    }
    if (pushed.reset) metrics.runResets.inc();
    if (pushed.gap > 0) metrics.gaps.inc(pushed.gap);
    scheduler.offerLive(job);
  }

  async function eachBatch(payload: EachBatchPayload): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    const source: Source = batch.topic === config.topics.backfill ? 'backfill' : 'live';
    lastBatchAt = Date.now();
    const where = `${batch.topic}/${batch.partition}`;
    const wasCaughtUp = caughtUp.delete(where);
    let finished = true;
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) {
        finished = false;
        break;
      }
      if (source === 'backfill' && scheduler.backfillRoom() === 0) {
        // Unresolved messages are fetched again once the topic resumes.
        pauseBackfill();
        finished = false;
        break;
      }
      // Produced since our last look at a partition we had read to its end,
      // and near that end: its age at ingest is network delay plus the
      // camera's clock offset. A backlog read after a restart is neither.
      const fresh = wasCaughtUp && Number(batch.highWatermark) - Number(message.offset) <= FRESH_RECORDS;
      await take(batch.topic, batch.partition, message, source, fresh);
      resolveOffset(message.offset);
    }
    if (finished && Number(batch.offsetLag()) <= 0) caughtUp.add(where);
    await heartbeat();
  }

  function pauseBackfill(): void {
    if (backfillPaused) return;
    backfillPaused = true;
    consumer.pause([{ topic: config.topics.backfill }]);
  }

  async function commit(): Promise<void> {
    if (committing) return committing;
    const points = tracker.pending();
    if (points.length === 0) return;
    committing = consumer.commitOffsets(points).then(
      () => tracker.markCommitted(points),
      (err: Error) => log.warn('committing offsets failed; will retry', { error: err }),
    ).finally(() => (committing = undefined));
    return committing;
  }

  return {
    owns: (topic, partition) => assignment[topic]?.includes(partition) ?? false,
    async start() {
      // Progress is measured from here, not from when the service was built.
      lastFetchAt = lastBatchAt = Date.now();
      await consumer.connect();
      await consumer.subscribe({ topics, fromBeginning: true });
      await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, partitionsConsumedConcurrently: 1, eachBatch });
      // A consumer that crashed while joining (the group refused, say) never runs.
      if (crashed) throw new Error(`consumer crashed while starting: ${crashed}`);
      running = true;
      commitTimer = setInterval(() => void commit(), config.ingest.commitInterval);
      commitTimer.unref();
      log.info('consuming', { topics, group: config.kafka.groupId, cameraFrom: config.ingest.cameraFrom });
    },
    pause() {
      // Throws when the consumer never ran (it crashed at start): nothing to pause then.
      if (running && !crashed) consumer.pause(topics.map((topic) => ({ topic })));
    },
    resumeBackfill() {
      if (!backfillPaused) return;
      backfillPaused = false;
      consumer.resume([{ topic: config.topics.backfill }]);
    },
    commit,
    async stop() {
      clearInterval(commitTimer);
      if (committing) await committing;
      await commit();
      running = false;
      await consumer.disconnect();
      await admin?.disconnect();
    },
    async lag() {
      if (!admin) {
        admin = deps.kafka.admin();
        await admin.connect();
      }
      const out: LagEntry[] = [];
      const committed = await admin.fetchOffsets({ groupId: config.kafka.groupId, topics });
      for (const topic of topics) {
        const ends = await admin.fetchTopicOffsets(topic);
        const mine = committed.find((c) => c.topic === topic)?.partitions ?? [];
        for (const p of ends) {
          const c = Number(mine.find((m) => m.partition === p.partition)?.offset ?? -1);
          const low = Number(p.low);
          out.push({ topic, partition: p.partition, lag: Math.max(0, Number(p.high) - Math.max(c, low)) });
        }
      }
      return out;
    },
    clockCorrections: () => clocks.corrections(),
    clockSteps: () => clocks.steps(),
    health: () => ({ running, ...(crashed ? { crashed } : {}), lastFetchAt, lastBatchAt, consumed, invalid, replayed, probes }),
  };
}
