// Where each frame's journey ends: its result published, skipped (and
// counted), or dead-lettered when its JPEG turns out undecodable. A frame's
// offset is completed here, only after that, so a crash re-consumes it.
import type { Counter, Histogram } from 'prom-client';
import type { Logger } from '@frameline/shared';
import type { PoseResult } from '../inference/index.js';
import type { BatchOutput } from '../inference/pool/pool.js';
import type { DeadLetter } from '../ingest/dlq.js';
import type { Job } from '../ingest/handoff.js';
import type { CameraWindow, Windows } from '../ingest/window.js';
import { reportableAge, type Dispatched, type ReleaseReason, type SkipReason } from '../scheduler/scheduler.js';
import type { Publisher } from './publisher.js';
import { buildRecord, type InferenceRecord } from './record.js';

/** What a result listener gets besides the record: the camera's ordered window (live frames only). */
export interface ResultContext {
  window: CameraWindow<PoseResult> | undefined;
}

export type ResultListener = (record: InferenceRecord, context: ResultContext) => void;

/** The Prometheus series this stage writes (web/metrics.ts registers them). */
export interface OutcomeMetrics {
  inferred: Counter<'source'>;
  skipped: Counter<'reason'>;
  dlq: Counter<'code'>;
  inferenceSeconds: Histogram<'batch_size'>;
  frameAgeSeconds: Histogram<'source'>;
  clockAhead: Counter<'source'>;
  released: Counter<'reason'>;
}

/** Frames let go uncommitted: by the scheduler (see ReleaseReason), or because their results could not be published. */
export type Released = ReleaseReason | 'unpublished';

export interface OutcomeCounts {
  inferred: number;
  late: number;
  skipped: Record<SkipReason, number>;
  /** Frames dead-lettered after inference (undecodable JPEGs); ingest counts the rest. */
  dlq: number;
  /** Largest capture-to-inference-start age of a live frame so far, ms. */
  maxLiveAgeMs: number;
  /** Frames let go with their offsets uncommitted: the group consumes them again. */
  released: Record<Released, number>;
}

export interface OutcomeDeps {
  publisher: Publisher;
  dlq: DeadLetter;
  windows: Windows<PoseResult>;
  metrics: OutcomeMetrics;
  logger: Logger;
  /** The model's name for the records. */
  modelName(): string;
  /** Each frame's result as it leaves the model, before publishing (tracking's detection schedule). */
  observe?(job: Job, result: PoseResult): void;
  /** Runs before results are published (analysis: track ids into the records, alerts first); a throw leaves the frames unpublished. */
  beforePublish?(items: { record: InferenceRecord; jpeg: Buffer }[]): Promise<void>;
}

/** The scheduler's callbacks (onSkip, onDispatch, onBatch) plus the results subscription. */
export interface Outcomes {
  skip(job: Job, reason: SkipReason): void;
  release(job: Job, reason: Released): void;
  dispatched(batch: Dispatched[]): void;
  finishBatch(batch: Dispatched[], out: BatchOutput | Error): Promise<void>;
  /** In-process subscription to published results; returns an unsubscribe function. */
  onResult(listener: ResultListener): () => void;
  counts(): OutcomeCounts;
}

export function createOutcomes(deps: OutcomeDeps): Outcomes {
  const { metrics, windows } = deps;
  const log = deps.logger.child('service');
  const listeners = new Set<ResultListener>();
  const counts: OutcomeCounts = { inferred: 0, late: 0, skipped: { superseded: 0, 'too-old': 0, 'inference-error': 0 }, dlq: 0, maxLiveAgeMs: 0,
    released: { rebalance: 0, stop: 0, unpublished: 0 } };

  function skip(job: Job, reason: SkipReason): void {
    counts.skipped[reason]++;
    metrics.skipped.inc({ reason });
    job.ticket.complete();
  }

  function release(_job: Job, reason: Released): void {
    counts.released[reason]++;
    metrics.released.inc({ reason });
  }

  function published(d: Dispatched, record: InferenceRecord, result: PoseResult): void {
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
        deps.observe?.(d.job, o.result);
        records.push({ d, result: o.result, record: buildRecord(d, o, out, deps.modelName(), inferredAt) });
        return;
      }
      // Passed the cheap JPEG checks but does not decode: a bad record like any other.
      metrics.dlq.inc({ code: /^[a-z-]+(?=:)/.exec(o.error)?.[0] ?? 'undecodable-jpeg' });
      counts.dlq++;
      const { origin, frame, ticket } = d.job;
      await deps.dlq.send({ key: origin.key, value: frame.jpeg, timestamp: origin.timestamp, headers: origin.headers }, o.error, { topic: ticket.topic, partition: ticket.partition, offset: ticket.offset });
      ticket.complete();
    }));
    records.sort((a, b) => batch.indexOf(a.d) - batch.indexOf(b.d));
    if (records.length === 0) return;
    try {
      await deps.beforePublish?.(records.map((r) => ({ record: r.record, jpeg: r.d.job.frame.jpeg })));
      await deps.publisher.publish(records.map((r) => r.record));
    } catch (err) {
      // Stopping, or the results backlog is full: the offsets stay uncommitted,
      // so these frames are consumed again by the next instance or restart.
      log.warn('results not published; their frames will be consumed again', { frames: records.length, error: err as Error });
      for (const r of records) release(r.d.job, 'unpublished');
      return;
    }
    for (const { d, record, result } of records) published(d, record, result);
  }

  return {
    skip,
    release,
    dispatched(batch) {
      for (const d of batch) {
        // A camera clock ahead of ours gives negative ages: counted as such, never reported as a latency.
        const age = reportableAge(d.ageMs);
        if (age === undefined) {
          metrics.clockAhead.inc({ source: d.job.source });
          continue;
        }
        metrics.frameAgeSeconds.observe({ source: d.job.source }, age / 1000);
        if (d.job.source === 'live') counts.maxLiveAgeMs = Math.max(counts.maxLiveAgeMs, age);
      }
    },
    finishBatch,
    onResult(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    counts: () => ({ ...counts, skipped: { ...counts.skipped }, released: { ...counts.released } }),
  };
}
