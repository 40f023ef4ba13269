// The cloud service's composition root: it builds ingest -> scheduler ->
// worker pool -> publish, with metrics and health on a small HTTP server, and
// wires them; the stages do the work. Sinks start before sources and stop
// after them, so nothing flows into a closed pipe.
import { availableParallelism } from 'node:os';
import client from 'prom-client';
import { authorizationDenial, createKafka, explainKafkaError, type AgentStatus, type AuthorizationDenial, type KafkaConnection, type Logger } from '@frameline/shared';
import { describeRefusal } from './refusal.js';
import type { CloudConfig } from './config.js';
import type { PoseResult } from './inference/index.js';
import { configuredModel } from './inference/pool/model.js';
import { createWorkerPool } from './inference/pool/pool.js';
import type { ModelSpec } from './inference/pool/protocol.js';
import { createIngest } from './ingest/consumer.js';
import { createDeadLetter } from './ingest/dlq.js';
import { createOffsetTracker } from './ingest/offsets.js';
import { createWindows } from './ingest/window.js';
import { createOutcomes, type OutcomeCounts, type ResultListener } from './publish/outcomes.js';
import { createPublisher } from './publish/publisher.js';
import { createScheduler } from './scheduler/scheduler.js';
import { createHealthCheck, serveHealthAndMetrics, type HealthReport } from './web/health.js';
import { createMetrics } from './web/metrics.js';
import { createEventStage, type AlertListener, type EventStage } from './analysis/stage.js';
import { createDetectionSchedule } from './inference/tracking.js';
import { createHttpServer, type HttpServer } from './web/server.js';
import { createDashboard } from './web/dashboard.js';
import type { LiveHub } from './web/live-hub.js';
import type { FleetAgentView } from './fleet/state.js';
import { createAlertPublisher, type AlertRecord } from './publish/alerts.js';
import { createFleet, type Fleet } from './fleet/fleet.js';

export type { InferenceRecord } from './publish/record.js';
export type { ResultContext, ResultListener } from './publish/outcomes.js';
export type { HealthReport } from './web/health.js';
export type { HttpServer, RouteHandler } from './web/server.js';
export type { CameraWindow, WindowEntry } from './ingest/window.js';
export type { AlertRecord } from './publish/alerts.js';
export type { FleetAlertRecord } from './fleet/fleet.js';
export type { FleetAgentView } from './fleet/state.js';

export interface ServiceCounts extends OutcomeCounts {
  consumed: number;
  /** Consumed again after a rebalance, already taken by this instance: skipped. */
  replayed: number;
  /** Doctor probe records: not frames. */
  probes: number;
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
  /** The live dashboard's state: feed it alerts with live.alert(). */
  live: LiveHub;
  registry: client.Registry;
  health(): Promise<HealthReport>;
  counts(): ServiceCounts;
  /** In-process subscription to the agents' statuses as the fleet takes them; returns an unsubscribe function. */
  onAgentStatus(listener: (status: AgentStatus) => void): () => void;
  /** The fleet view (agents' latest statuses, worst first); empty when fleet.enabled is false. */
  fleet(): FleetAgentView[];
  /** Set once the broker's ACLs refused something (what and the ACL to add); the service cannot work until fixed. */
  refusal(): string | undefined;
}

export interface ServiceDeps {
  logger: Logger;
  /** Defaults to a fresh registry. */
  registry?: client.Registry;
  /** The model every inference worker builds; defaults to the configured one (model.*). */
  model?: ModelSpec;
  /** Called once when the ACLs refuse the service (group, topic or cluster authorization); the caller stops it. */
  onRefused?(message: string): void;
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
  const metrics = createMetrics(registry);
  const conn = kafkaConnection(config);
  let refusal: string | undefined;
  const refused = (denial: AuthorizationDenial) => {
    if (refusal) return;
    refusal = describeRefusal(denial, config);
    deps.onRefused?.(refusal);
  };
  const kafka = createKafka(conn, deps.logger, { onAuthorizationDenied: refused });
  const http = createHttpServer(config.http.listen, deps.logger);
  // The live dashboard sees every frame the ingest stage takes and every result.
  let fleet: Fleet | undefined;
  const statusListeners = new Set<(status: AgentStatus) => void>();
  const dashboard = createDashboard({ http, token: config.http.tokenFile, logger: deps.logger, registry, hub: { fleet: () => fleet?.view() ?? [] } });
  const windows = dashboard.tapFrames(createWindows<PoseResult>(config.ingest.windowSize));
  // Not idempotent: kafkajs's idempotent producer, retried across a broker SIGKILL, got stuck on
  // OutOfOrderSequence for good (test/reliability/broker-sigkill); duplicate results are the lesser harm.
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 1 });
  const publisher = createPublisher(producer, config.topics.inferences, deps.logger);
  // One publisher, so the event stage and the fleet share one dedupe memory and one alerts counter.
  const alertPublisher = createAlertPublisher({ producer, topic: config.topics.alerts, logger: deps.logger, registry, maxKeys: config.alerts.maxKeys });
  const dlq = createDeadLetter(config.ingest.dlq ? producer : undefined, config.topics.dlq, deps.logger);
  const pool = createWorkerPool({
    size: config.scheduler.workers || availableParallelism(),
    model: deps.model ?? configuredModel(config.model),
    logLevel: config.log.level,
    logger: deps.logger.child('inference'),
    // /healthz reports a slow batch after stallAfter; only a batch far past it is a hang.
    batchTimeoutMs: Math.max(60_000, 5 * config.health.stallAfter),
    maxPixels: config.ingest.maxFramePixels,
  });
  const detection = createDetectionSchedule({
    detectEvery: config.model.detectEvery, detectIntervalMs: config.model.detectInterval,
    sweepEvery: config.model.sweepEvery, minTrackPresence: config.model.minTrackPresence,
  });
  new client.Counter({
    name: 'frameline_tracking_total', help: 'Pose tracking: frames with the full person detector (detected) or without (tracked), tracks dropped for low presence, tracks lost',
    labelNames: ['event'] as const, registers: [registry],
    // the schedule keeps the totals; the counter mirrors them when scraped
    collect() {
      this.reset();
      for (const [event, n] of Object.entries(detection.counts())) this.inc({ event }, n);
    },
  });
  // The event stage reads back recent results and alerts, so it is built in start(); until then results pass it by.
  let events: EventStage | undefined;
  const alertListeners = new Set<AlertListener>();
  const outcomes = createOutcomes({
    publisher, dlq, windows, metrics, logger: deps.logger,
    modelName: () => pool.modelName() ?? config.model.kind,
    observe: (job, result) => {
      if (job.source === 'live') detection.observe(job.frame.camera, job.frame.run, job.frame.capturedAt, result);
    },
    // tracks go into the records; alerts reach the broker before the results that raised them (see ALERTS.md)
    beforePublish: async (items) => void (await events?.handle(items)),
  });
  outcomes.onResult(dashboard.onResult);
  const scheduler = createScheduler({
    maxLagMs: config.scheduler.maxLagMs,
    maxBatch: config.scheduler.maxBatch,
    backfillQueue: config.ingest.backfillQueue,
    pool,
    onSkip: outcomes.skip,
    onRelease: outcomes.release,
    onDispatch: outcomes.dispatched,
    onBatch: (batch, out) => void outcomes.finishBatch(batch, out).catch((err: Error) => log.error('finishing a batch failed', { error: err })),
    onBackfillRoom: () => ingest.resumeBackfill(),
    hintFor: (job) => (job.source === 'live' ? detection.hint(job.frame.camera, job.frame.run, job.frame.capturedAt) : undefined),
  });
  const ingest = createIngest({ kafka, config, logger: deps.logger, metrics, tracker: createOffsetTracker(), windows, scheduler, dlq });
  const health = createHealthCheck({ stallAfter: config.health.stallAfter, framesTopic: config.topics.frames, ingest, pool, scheduler });
  metrics.observe({
    lag: () => ingest.lag(),
    pendingLive: () => scheduler.stats().pendingLive,
    backfillQueued: () => scheduler.stats().backfillQueued,
    busyWorkers: () => pool.health().busy,
    clockCorrections: () => ingest.clockCorrections(),
    clockSteps: () => ingest.clockSteps(),
  });
  serveHealthAndMetrics(http, registry, health);
  const counts = (): ServiceCounts => {
    const ih = ingest.health();
    const oc = outcomes.counts();
    return { ...oc, consumed: ih.consumed, replayed: ih.replayed, probes: ih.probes, dlq: oc.dlq + ih.invalid };
  };
  const publishAlert = (alert: AlertRecord) => {
    dashboard.hub.alert({
      key: alert.key, camera: alert.camera, kind: alert.label ? `${alert.kind} ${alert.label}` : alert.kind, score: alert.score,
      startedAt: alert.startedAt, endedAt: alert.endedAt, seqs: alert.seqs,
      ...(alert.tracks.length > 0 ? { track: alert.tracks.join(',') } : {}), // fleet alerts concern no track
      ...(alert.snapshot ? { snapshot: alert.snapshot.base64 } : {}),
    });
    for (const l of alertListeners) l(alert);
  };
  if (config.fleet.enabled) {
    const f = config.fleet;
    fleet = createFleet({
      kafka, topic: config.topics.agents, alertsTopic: config.topics.alerts, groupPrefix: config.kafka.groupId, logger: deps.logger, registry,
      publisher: alertPublisher, onAlert: publishAlert, onStatus: (status) => { for (const l of statusListeners) l(status); },
      // Exactly one instance of the group holds partition 0 of the frames topic: it raises the fleet's alerts.
      isAlertOwner: () => ingest.owns(config.topics.frames, 0),
      maxAgents: f.maxAgents, offlineAfterMs: f.offlineAfter, spoolingAfterMs: f.spoolingAfter, forgetAfterMs: f.forgetAfter,
      checkIntervalMs: f.checkInterval, dedupeHorizonMs: config.alerts.dedupeHorizon, maxKeys: config.alerts.maxKeys,
    });
  }
  // Set where start() reaches the consumer: stop() only pauses and leaves a consumer that start() touched.
  let consuming = false;

  return {
    http,
    live: dashboard.hub,
    registry,
    health,
    refusal: () => refusal,
    counts,
    fleet: () => fleet?.view() ?? [],
    onAgentStatus(listener) {
      statusListeners.add(listener);
      return () => void statusListeners.delete(listener);
    },
    onResult: outcomes.onResult,
    onAlert(listener) {
      alertListeners.add(listener);
      return () => void alertListeners.delete(listener);
    },
    async start() {
      try {
        await producer.connect();
      } catch (err) {
        const denial = authorizationDenial(err);
        if (denial) refused(denial);
        throw new Error(`cannot connect to Kafka: ${explainKafkaError(err, conn).message}`);
      }
      await pool.start();
      if (config.analysis.enabled) {
        events = await createEventStage(config, { kafka, producer, logger: deps.logger, registry, publisher: alertPublisher });
        events.onAlert(publishAlert);
        // results wait for it inside events.handle(); consuming and inference need not
        void events.start();
      }
      consuming = true;
      await http.start();
      // Without the status topic (or its ACL) frames still flow: the fleet view stays empty and says why in the log.
      await fleet?.start().catch((err: unknown) => {
        const denial = authorizationDenial(err);
        log.error(`cannot read the agents' status topic ${config.topics.agents}; no fleet view, gauges or fleet alerts: ${denial ? 'grant the cloud user READ on it' : 'provision it (deploy/kafka/kafka.sh up creates it)'}`, { error: explainKafkaError(err, conn) });
      });
      try {
        await ingest.start();
      } catch (err) {
        const denial = authorizationDenial(err);
        if (denial) refused(denial);
        throw new Error(`cannot start consuming: ${explainKafkaError(err, conn).message}`);
      }
    },
    async stop() {
      log.info('stopping');
      if (consuming) ingest.pause();
      await scheduler.drain(DRAIN_MS);
      await publisher.close(DRAIN_MS);
      if (consuming) await ingest.stop().catch((err: Error) => log.warn('consumer stop failed', { error: err }));
      await pool.close();
      await events?.close();
      await fleet?.stop();
      await producer.disconnect().catch(() => {});
      dashboard.close();
      await http.close();
      // Every consumed record ends as exactly one of these (see ServiceCounts).
      const c = counts();
      const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
      log.info('stopped', { consumed: c.consumed, inferred: c.inferred, skipped: sum(c.skipped) + c.replayed, dlq: c.dlq, released: sum(c.released), probes: c.probes });
    },
  };
}
