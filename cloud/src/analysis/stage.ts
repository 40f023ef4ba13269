/**
 * The events stage as the service wires it: analysis of every published
 * result, alerts to video.alerts, and the read-back at start that keeps
 * alerts idempotent across restarts (see ALERTS.md, "Exactly one alert per event").
 */
import type { Kafka, Producer } from 'kafkajs';
import type client from 'prom-client';
import type { Logger } from '@frameline/shared';
import type { CloudConfig } from '../config.js';
import { alertKey, createAlertPublisher, MAX_SEQS, renderSnapshot, type AlertPublisher, type AlertRecord } from '../publish/alerts.js';
import type { InferenceRecord } from '../publish/record.js';
import { createAnalysis, type Analysis, type AnalysisOptions, type RaisedEvent } from './analysis.js';
import { readTail } from './replay.js';

export type AlertListener = (alert: AlertRecord) => void;

export interface EventStage {
  /**
   * Reads back recent results and alerts. handle() waits for it, so the
   * service may consume and infer meanwhile; resolves even when the read-back
   * fails (logged: alerts of events in progress may then repeat).
   */
  start(): Promise<void>;
  /**
   * Tracks the records' persons (in place), publishes the alerts of events
   * that open with them and resolves once the broker has those alerts.
   * Throws when the alerts topic refuses them: the caller must then not
   * publish (or acknowledge) these records, so they are consumed again.
   */
  handle(items: { record: InferenceRecord; jpeg: Buffer }[]): Promise<void>;
  onAlert(listener: AlertListener): () => void;
  close(): Promise<void>;
}

export interface EventStageDeps {
  kafka: Kafka;
  producer: Producer;
  logger: Logger;
  registry: client.Registry;
  /** The service's one alerts publisher (shared with the fleet alerts); default: a new one. */
  publisher?: AlertPublisher;
}

/** The analysis options from the validated config. */
export function analysisOptions(c: CloudConfig['analysis']): AnalysisOptions {
  return {
    tracker: { maxMissedMs: c.tracker.maxMissed, minSimilarity: c.tracker.minSimilarity, windowMs: c.window, maxSamples: c.maxSamples },
    hysteresis: { open: c.hysteresis.open, keep: c.hysteresis.keep, holdMs: c.hysteresis.hold },
    fall: c.fall.enabled ? { ...c.fall, maxDropMs: c.fall.maxDropTime, stillMs: c.fall.still } : null,
    fight: c.fight.enabled ? { ...c.fight, windowMs: c.fight.window } : null,
    zones: c.zones.map((z) => ({ camera: z.camera, name: z.name, polygon: z.polygon, dwellMs: z.dwell })),
    temporalModel: c.temporalModel.path ? { ...c.temporalModel } : null,
    idleCameraMs: 10 * 60_000,
  };
}

export function toAlert(e: RaisedEvent, raisedAt: number): AlertRecord {
  const d = e.detection;
  const base = { camera: e.frame.camera, run: e.frame.run, kind: d.kind, label: d.label, tracks: d.tracks, startSeq: d.startSeq };
  return {
    schema: 1, key: alertKey(base), ...base, score: d.score, startedAt: d.startedAt,
    endSeq: e.frame.seq, endedAt: e.frame.capturedAt, seqs: e.seqs.slice(-MAX_SEQS), raisedAt,
  };
}

export async function createEventStage(config: CloudConfig, deps: EventStageDeps): Promise<EventStage> {
  const log = deps.logger.child('events');
  const a = config.analysis;
  const analysis: Analysis = await createAnalysis(analysisOptions(a));
  const publisher = deps.publisher ?? createAlertPublisher({ producer: deps.producer, topic: config.topics.alerts, logger: deps.logger, registry: deps.registry, maxKeys: config.alerts.maxKeys });
  const listeners = new Set<AlertListener>();
  // batches finish concurrently; a camera's frames must reach the tracker in order
  let queue: Promise<unknown> = Promise.resolve();
  let resolveStarted!: () => void;
  const started = new Promise<void>((r) => (resolveStarted = r));
  queue = started;

  return {
    async start() {
      try {
        await rebuild();
      } catch (err) {
        log.error('reading back recent results and alerts failed; an event in progress may be alerted again', { error: err as Error });
      } finally {
        resolveStarted();
      }
    },
    handle(items) {
      const run = queue.then(() => handleNow(items));
      queue = run.catch(() => {});
      return run;
    },
    onAlert(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    close: () => analysis.close(),
  };

  async function rebuild(): Promise<void> {
    const now = Date.now();
    const [alerts, results] = await Promise.all([
      readTail({ kafka: deps.kafka, groupPrefix: config.kafka.groupId, topics: [config.topics.alerts], since: now - config.alerts.dedupeHorizon, timeoutMs: 30_000, maxRecords: config.alerts.maxKeys, logger: deps.logger }),
      a.replay > 0
        ? readTail({ kafka: deps.kafka, groupPrefix: config.kafka.groupId, topics: [config.topics.inferences], since: now - a.replay, timeoutMs: 30_000, maxRecords: 100_000, logger: deps.logger })
        : new Map(),
    ]);
    const keys = (alerts.get(config.topics.alerts) ?? []).map((m) => m.headers?.['fl-alert-key']?.toString()).filter((k): k is string => !!k);
    publisher.remember(keys);
    // rebuild tracks and open events; their alerts were published before these results (handle() order)
    const records = ((results.get(config.topics.inferences) ?? []) as { value: Buffer | null }[])
      .map((m) => { try { return JSON.parse(m.value?.toString() ?? '') as InferenceRecord; } catch { return undefined; } })
      .filter((r): r is InferenceRecord => r?.schema === 1)
      .sort((x, y) => x.capturedAt - y.capturedAt);
    let replayedAlerts = 0;
    for (const r of records) {
      for (const e of await analysis.process(r)) {
        publisher.remember([toAlert(e, now).key]);
        replayedAlerts++;
      }
    }
    log.info('events state rebuilt from the topics', { alertKeys: keys.length, results: records.length, replayedEvents: replayedAlerts });
  }

  async function handleNow(items: { record: InferenceRecord; jpeg: Buffer }[]): Promise<void> {
    const alerts: AlertRecord[] = [];
    const jpegs = new Map<AlertRecord, { jpeg: Buffer; e: RaisedEvent }>();
    for (const { record, jpeg } of items) {
      for (const e of await analysis.process(record)) {
        const alert = toAlert(e, Date.now());
        alerts.push(alert);
        jpegs.set(alert, { jpeg, e });
      }
    }
    if (alerts.length === 0) return;
    await Promise.all(alerts.map(async (alert) => {
      const { jpeg, e } = jpegs.get(alert)!;
      try {
        alert.snapshot = await renderSnapshot(jpeg, e.persons, config.alerts.snapshotWidth, config.alerts.snapshotQuality);
      } catch (err) {
        log.warn('alert snapshot failed; publishing the alert without it', { camera: alert.camera, error: err as Error });
      }
    }));
    const published = await publisher.publish(alerts);
    for (const alert of published) {
      log.info('alert', { key: alert.key, camera: alert.camera, kind: alert.kind, label: alert.label, tracks: alert.tracks, score: alert.score, startSeq: alert.startSeq, endSeq: alert.endSeq });
      for (const l of listeners) {
        try {
          l(alert);
        } catch (err) {
          log.error('alert listener failed', { error: err as Error });
        }
      }
    }
  }
}
