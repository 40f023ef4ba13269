// The cloud service's composition: ingest -> scheduler -> worker pool ->
// publisher, with metrics and health on a small HTTP server. Sinks start
// before sources and stop after them, so nothing flows into a closed pipe.
import { availableParallelism } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Producer } from 'kafkajs';
import client from 'prom-client';
import { createKafka, explainKafkaError, type KafkaConnection, type Logger } from '@frameline/shared';
import type { CloudConfig } from './config.js';
import { createIngest, type Ingest } from './ingest/consumer.js';
import { createDeadLetter, type DeadLetter } from './ingest/dlq.js';
import { createOffsetTracker } from './ingest/offsets.js';
import { createWindows, type CameraWindow } from './ingest/window.js';
import { createEventStage, type AlertListener, type EventStage } from './analysis/stage.js';
import { createDetectionSchedule } from './inference/tracking.js';
import { createPublisher, type Publisher } from './publish/publisher.js';
import { INFERENCE_SCHEMA, type InferenceRecord } from './publish/record.js';
import { createWorkerPool } from './scheduler/pool.js';
import type { BatchOutput, WorkerPool } from './scheduler/pool.js';
import { createScheduler, type Dispatched, type Job, type Scheduler, type SkipReason } from './scheduler/scheduler.js';
import type { PoseResult } from './scheduler/model.js';
import { createMetrics, type Metrics } from './web/metrics.js';
import { createHttpServer, type HttpServer } from './web/server.js';

export type { InferenceRecord } from './publish/record.js';
export type { HttpServer, RouteHandler } from './web/server.js';
export type { CameraWindow, WindowEntry } from './ingest/window.js';
export type { AlertRecord } from './publish/alerts.js';

/** What a result listener gets besides the record: the camera's ordered window (live frames only). */
export interface ResultContext {
  window: CameraWindow<PoseResult> | undefined;
}

export type ResultListener = (record: InferenceRecord, context: ResultContext) => void;

export interface HealthReport {
  ok: boolean;
  consume: { ok: boolean; reason?: string; sinceFetchMs: number; sinceBatchMs: number };
  inference: { ok: boolean; reason?: string; workers: number; ready: number; busy: number; oldestInFlightMs: number; pendingLive: number; backfillQueued: number };
}

export interface ServiceCounts {
  consumed: number;
  inferred: number;
  late: number;
  skipped: Record<SkipReason, number>;
  dlq: number;
  /** Largest capture-to-inference-start age of a live frame so far, ms. */
  maxLiveAgeMs: number;
}

export interface CloudService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** In-process subscription to published results (for events, alerts, the dashboard); returns an unsubscribe function. */
  onResult(listener: ResultListener): () => void;
  /** In-process subscription to alerts once video.alerts has them; returns an unsubscribe function. */
  onAlert(listener: AlertListener): () => void;
  /** The HTTP server: add routes with http.route(method, path, handler). */
  http: HttpServer;
  registry: client.Registry;
  health(): Promise<HealthReport>;
  counts(): ServiceCounts;
}

export interface ServiceDeps {
  logger: Logger;
  /** Defaults to a fresh registry. */
  registry?: client.Registry;
}

export function kafkaConnection(config: CloudConfig): KafkaConnection {
  const k = config.kafka;
  return {
    brokers: k.brokers, clientId: k.clientId, security: k.security, username: k.username, password: k.passwordFile,
    ...(k.caFile ? { caFile: k.caFile } : {}),
  };
}

const DRAIN_MS = 10_000;

export function createCloudService(config: CloudConfig, deps: ServiceDeps): CloudService {
  const log = deps.logger.child('service');
  const registry = deps.registry ?? new client.Registry();
  const metrics: Metrics = createMetrics(registry);
  const conn = kafkaConnection(config);
  const kafka = createKafka(conn, deps.logger);
  const http = createHttpServer(config.http.listen, deps.logger);
  const tracker = createOffsetTracker();
  const windows = createWindows<PoseResult>(config.ingest.windowSize);
  const listeners = new Set<ResultListener>();
  const counts: ServiceCounts = { consumed: 0, inferred: 0, late: 0, skipped: { superseded: 0, 'too-old': 0, 'inference-error': 0 }, dlq: 0, maxLiveAgeMs: 0 };
  const pool: WorkerPool = createWorkerPool({
    size: config.scheduler.workers || availableParallelism(),
    model: config.model,
    logLevel: config.log.level,
    logger: deps.logger.child('inference'),
    // /healthz reports a slow batch after stallAfter; only a batch far past it is a hang.
    batchTimeoutMs: Math.max(60_000, 5 * config.health.stallAfter),
  });
  let producer: Producer | undefined;
  let publisher: Publisher | undefined;
  let scheduler: Scheduler | undefined;
  let ingest: Ingest | undefined;
  let dlq: DeadLetter | undefined;
  let events: EventStage | undefined;
  const alertListeners = new Set<AlertListener>();
  const detection = createDetectionSchedule({ detectEvery: config.model.detectEvery, detectIntervalMs: config.model.detectInterval });
  let modelName = config.model.kind;

  function skip(job: Job, reason: SkipReason): void {
    counts.skipped[reason]++;
    metrics.skipped.inc({ reason });
    job.ticket.complete();
  }

  function toRecord(d: Dispatched, result: PoseResult, width: number, height: number, out: BatchOutput, inferredAt: number): InferenceRecord {
    const f = d.job.frame;
    const record: InferenceRecord = {
      schema: INFERENCE_SCHEMA,
      camera: f.camera,
      run: f.run,
      seq: f.seq,
      capturedAt: f.capturedAt,
      ingestedAt: d.job.ingestedAt,
      inferredAt,
      frame: { width, height },
      model: modelName,
      persons: result.persons.map((p) => ({ box: p.box, score: p.score, keypoints: p.keypoints })),
      timings: { ...result.timings, decodeMs: out.decodeMs, inferMs: out.inferMs, waitMs: d.startedAt - d.job.ingestedAt, ageMs: d.ageMs },
    };
    if (d.job.source === 'backfill') record.late = true;
    else record.skippedSince = d.skippedSince;
    return record;
  }

  async function finishBatch(batch: Dispatched[], out: BatchOutput | Error): Promise<void> {
    const inferredAt = Date.now();
    if (out instanceof Error) {
      log.error('inference failed; skipping the batch', { frames: batch.length, error: out });
      for (const d of batch) skip(d.job, 'inference-error');
      return;
    }
    metrics.inferenceSeconds.observe({ batch_size: String(batch.length) }, (out.decodeMs + out.inferMs) / 1000);
    const records: { d: Dispatched; record: InferenceRecord; result: PoseResult }[] = [];
    await Promise.all(batch.map(async (d, i) => {
      const o = out.outcomes[i]!;
      if (o.ok) {
        if (d.job.source === 'live') detection.observe(d.job.frame.camera, d.job.frame.run, d.job.frame.capturedAt, o.result);
        records.push({ d, result: o.result, record: toRecord(d, o.result, o.width, o.height, out, inferredAt) });
        return;
      }
      // Passed the cheap JPEG checks but does not decode: a bad record like any other.
      metrics.dlq.inc({ code: 'undecodable-jpeg' });
      counts.dlq++;
      const { origin, frame, ticket } = d.job;
      await dlq!.send({ key: origin.key, value: frame.jpeg, timestamp: origin.timestamp, headers: origin.headers }, o.error, ticket);
      ticket.complete();
    }));
    records.sort((a, b) => batch.indexOf(a.d) - batch.indexOf(b.d));
    if (records.length === 0) return;
    try {
      // tracks go into the records; alerts reach the broker before the results that raised them (see ALERTS.md)
      await events?.handle(records.map((r) => ({ record: r.record, jpeg: r.d.job.frame.jpeg })));
      await publisher!.publish(records.map((r) => r.record));
    } catch (err) {
      // Stopping, or the results backlog is full: the offsets stay uncommitted,
      // so these frames are consumed again by the next instance or restart.
      log.warn('results not published; their frames will be consumed again', { frames: records.length, error: err as Error });
      return;
    }
    for (const { d, record, result } of records) {
      d.job.ticket.complete();
      const source = d.job.source;
      metrics.inferred.inc({ source });
      counts.inferred++;
      if (source === 'backfill') counts.late++;
      const window = source === 'live' ? windows.get(d.job.frame.camera) : undefined;
      const entry = window?.run === d.job.frame.run ? window.find(d.job.frame.seq) : undefined;
      if (entry) entry.result = result;
      for (const l of listeners) {
        try {
          l(record, { window });
        } catch (err) {
          log.error('result listener failed', { error: err as Error });
        }
      }
    }
  }

  async function health(): Promise<HealthReport> {
    const now = Date.now();
    const stall = config.health.stallAfter;
    const ih = ingest?.health() ?? { running: false, lastFetchAt: now, lastBatchAt: now, consumed: 0, invalid: 0 };
    const ph = pool.health();
    const st = scheduler?.stats() ?? { pendingLive: 0, backfillQueued: 0, inFlightBatches: 0, lastDispatchAt: now, lastCompletionAt: now };
    const consume: HealthReport['consume'] = { ok: true, sinceFetchMs: now - ih.lastFetchAt, sinceBatchMs: now - ih.lastBatchAt };
    if (!ih.running) Object.assign(consume, { ok: false, reason: 'consumer not running' });
    else if (ih.crashed) Object.assign(consume, { ok: false, reason: `consumer crashed: ${ih.crashed}` });
    else if (consume.sinceFetchMs > stall) Object.assign(consume, { ok: false, reason: `no fetch for ${consume.sinceFetchMs} ms` });
    else if (consume.sinceBatchMs > stall) {
      const lag = await ingest!.lag().catch(() => []);
      const waiting = lag.filter((e) => e.topic === config.topics.frames).reduce((n, e) => n + e.lag, 0);
      if (waiting > 0) Object.assign(consume, { ok: false, reason: `${waiting} live records waiting, none consumed for ${consume.sinceBatchMs} ms` });
    }
    const inference: HealthReport['inference'] = { ok: true, workers: ph.size, ready: ph.ready, busy: ph.busy, oldestInFlightMs: ph.oldestInFlightMs, pendingLive: st.pendingLive, backfillQueued: st.backfillQueued };
    const workPending = st.pendingLive + st.backfillQueued > 0;
    if (ph.ready === 0) Object.assign(inference, { ok: false, reason: 'no inference worker is ready' });
    else if (ph.oldestInFlightMs > stall) Object.assign(inference, { ok: false, reason: `a batch has been running for ${ph.oldestInFlightMs} ms` });
    else if (workPending && now - Math.max(st.lastDispatchAt, st.lastCompletionAt) > stall) Object.assign(inference, { ok: false, reason: 'frames wait but no batch started or finished recently' });
    return { ok: consume.ok && inference.ok, consume, inference };
  }

  http.route('GET', '/metrics', async (_req: IncomingMessage, res: ServerResponse) => {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  });
  http.route('GET', '/healthz', async (_req: IncomingMessage, res: ServerResponse) => {
    const report = await health();
    res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report) + '\n');
  });

  return {
    http,
    registry,
    health,
    counts() {
      const ih = ingest?.health();
      return { ...counts, consumed: ih?.consumed ?? 0, dlq: counts.dlq + (ih?.invalid ?? 0), skipped: { ...counts.skipped } };
    },
    onResult(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    onAlert(listener) {
      alertListeners.add(listener);
      return () => void alertListeners.delete(listener);
    },
    async start() {
      try {
        producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 1 });
        await producer.connect();
      } catch (err) {
        throw new Error(`cannot connect to Kafka: ${explainKafkaError(err, conn).message}`);
      }
      publisher = createPublisher(producer, config.topics.inferences, deps.logger);
      const info = await pool.start();
      modelName = info.name as typeof modelName;
      if (config.analysis.enabled) {
        events = await createEventStage(config, { kafka, producer, logger: deps.logger, registry });
        events.onAlert((alert) => { for (const l of alertListeners) l(alert); });
        // results wait for it inside events.handle(); consuming and inference need not
        void events.start();
      }
      dlq = createDeadLetter(config.ingest.dlq ? producer : undefined, config.topics.dlq, deps.logger);
      scheduler = createScheduler({
        maxLagMs: config.scheduler.maxLagMs,
        maxBatch: config.scheduler.maxBatch,
        batchable: info.batchable,
        backfillQueue: config.ingest.backfillQueue,
        pool,
        onSkip: skip,
        onDispatch: (batch) => {
          for (const d of batch) {
            metrics.frameAgeSeconds.observe({ source: d.job.source }, d.ageMs / 1000);
            if (d.job.source === 'live') counts.maxLiveAgeMs = Math.max(counts.maxLiveAgeMs, d.ageMs);
          }
        },
        onBatch: (batch, out) => void finishBatch(batch, out).catch((err: Error) => log.error('finishing a batch failed', { error: err })),
        onBackfillRoom: () => ingest?.resumeBackfill(),
        hintFor: (job) => (job.source === 'live' ? detection.hint(job.frame.camera, job.frame.run, job.frame.capturedAt) : undefined),
      });
      ingest = createIngest({ kafka, config, logger: deps.logger, metrics, tracker, windows, scheduler, dlq });
      metrics.observe({
        lag: () => ingest!.lag(),
        pendingLive: () => scheduler!.stats().pendingLive,
        backfillQueued: () => scheduler!.stats().backfillQueued,
        busyWorkers: () => pool.health().busy,
        clockCorrections: () => ingest!.clockCorrections(),
      });
      await http.start();
      try {
        await ingest.start();
      } catch (err) {
        throw new Error(`cannot start consuming: ${explainKafkaError(err, conn).message}`);
      }
    },
    async stop() {
      log.info('stopping');
      ingest?.pause();
      await scheduler?.drain(DRAIN_MS);
      await publisher?.close(DRAIN_MS);
      await ingest?.stop().catch((err: Error) => log.warn('consumer stop failed', { error: err }));
      await pool.close();
      await events?.close();
      await producer?.disconnect().catch(() => {});
      await http.close();
      log.info('stopped');
    },
  };
}
