// One send loop per lane (a topic and the buffers it drains, first with
// frames first): take the oldest frames as one request, send it, then
// acknowledge or reject the batch as the policy decides. It knows nothing
// about modes: those are which buffers a lane reads (index.ts).
import type { KafkaConnection, Logger, PartitioningMode } from '@frameline/shared';
import type { Batch, FrameBuffer } from './buffer.js';
import type { Connection } from './connection.js';
import type { Link } from './link.js';
import { planRequest, type RequestPlan } from './plan.js';
import { decideFailure } from './policy.js';
import { classifySendError } from './retry.js';
import type { Pacer } from '@frameline/shared';
import { sleep, type Signal } from './signal.js';
import type { Tally } from './tally.js';
import type { LaneName, SentSample } from './types.js';

export interface Lane {
  name: LaneName;
  topic: string;
  /** Read in this order: the first holding frames supplies the next request. */
  sources: FrameBuffer[];
  /** Paces the lane (backfill drain rate). */
  pacer?: Pacer;
  /** Keeps sending through stop()'s flush (the frames lane); otherwise pauses at stop(). */
  flushOnStop: boolean;
}

export interface SendLoopDeps {
  link: Pick<Link, 'state' | 'send' | 'partitions'>;
  connection: Pick<Connection, 'sendFailed' | 'sendSucceeded' | 'refused'>;
  kafka: KafkaConnection;
  limits: { maxBatchFrames: number; maxBatchBytes: number; partitioning: PartitioningMode };
  tally: Tally;
  log: Logger;
  changed: Signal;
  stopSignal: Signal;
  stopping(): boolean;
  closing(): boolean;
  /** After every answer from the broker: re-apply the policy (spill, log a change of policy). */
  settle(): void;
  onSent?: (latencyMs: number, sample: SentSample) => void;
  now?: () => number;
}

interface Job {
  source: FrameBuffer;
  batch: Batch;
  plan: RequestPlan;
  /** stop() gave up on its answer: whatever comes back no longer counts. */
  abandoned: boolean;
}

export interface LaneRun {
  done: Promise<void>;
  /** On stop: the request in flight no longer counts, whatever its answer. */
  abandon(): void;
}

export function runLane(lane: Lane, deps: SendLoopDeps): LaneRun {
  const { tally, log, changed, limits } = deps;
  const now = deps.now ?? Date.now;
  /** One-shot cap on the next request: resend a failed batch with the same records, or half of them. */
  let cap = 0;
  let current: Job | undefined;

  async function nextJob(): Promise<Job | undefined> {
    const frames = cap || limits.maxBatchFrames;
    const limit = lane.pacer ? lane.pacer.batchLimit(frames, limits.maxBatchBytes) : { frames, bytes: limits.maxBatchBytes };
    for (const source of lane.sources) {
      if (source.size().frames === 0) continue;
      let plan: RequestPlan | undefined;
      const batch = await source.take(limit, (records) => {
        plan = planRequest(records, deps.link.partitions(lane.topic), limits.maxBatchBytes, limits.partitioning);
        return plan.consumed;
      });
      if (!batch || !plan) continue;
      cap = 0;
      const p: RequestPlan = plan;
      tally.dropped.tooLarge += p.tooLarge;
      tally.dropped.unroutable += p.unroutable;
      if (p.error) tally.lastError = p.error;
      return { source, batch, plan: p, abandoned: false };
    }
    return undefined;
  }

  function reportSent(job: Job): void {
    tally.acked += job.plan.messages.length;
    if (job.batch.from === 'spool') tally.backfillSent += job.plan.messages.length;
    if (!deps.onSent) return;
    const t = now();
    if (job.batch.from === 'memory') {
      for (const item of job.batch.items) deps.onSent(t - item.submittedAt, { topic: lane.name, spooled: false });
    } else {
      for (const m of job.plan.messages) deps.onSent(t - Number(m.timestamp), { topic: lane.name, spooled: true });
    }
  }

  async function onFailure(job: Job, e: unknown): Promise<void> {
    const error = classifySendError(e, deps.kafka);
    const action = decideFailure(error, job.plan.messages.length, job.plan.consumed);
    switch (action.kind) {
      case 'split':
        // The records are fine one by one, or one of them is not.
        job.source.reject(job.batch, 'resend');
        cap = action.cap;
        return;
      case 'drop-record':
        tally.lastError = `the broker rejected a frame (${error.type}); dropped it`;
        log.warn(tally.lastError, { topic: lane.topic });
        tally.dropped.rejected += 1;
        await job.source.ack(job.batch, job.plan.consumed);
        return;
      case 'refused':
        // Kept as an undeliverable batch is (spooled in reliable mode); the connection stops trying.
        job.source.reject(job.batch, 'undeliverable');
        deps.connection.refused({ api: 'Produce', ...error.denial! }, [lane.topic]);
        deps.settle();
        return;
      case 'reconnect': {
        await deps.connection.sendFailed(error, lane.topic, job.plan.messages.length);
        const holder = job.source.reject(job.batch, 'undeliverable');
        // Same records, same order when this lane reads them again: the idempotent producer's sequence numbers line up.
        if (holder && lane.sources.includes(holder)) cap = job.plan.consumed;
        deps.settle();
        return;
      }
    }
  }

  async function execute(job: Job): Promise<void> {
    if (job.plan.messages.length === 0) {
      await job.source.ack(job.batch, job.plan.consumed);
      return;
    }
    tally.sent += job.plan.messages.length;
    try {
      await deps.link.send(lane.topic, job.plan.messages);
    } catch (e) {
      if (!job.abandoned) await onFailure(job, e);
      return;
    }
    if (job.abandoned) return;
    deps.connection.sendSucceeded();
    reportSent(job);
    await job.source.ack(job.batch, job.plan.consumed);
    deps.settle();
  }

  async function loop(): Promise<void> {
    while (!deps.closing()) {
      const gen = changed.generation;
      if (deps.link.state !== 'connected' || (!lane.flushOnStop && deps.stopping())) {
        await changed.wait(gen);
        continue;
      }
      let job: Job | undefined;
      try {
        job = await nextJob();
      } catch (e) {
        tally.lastError = `reading the spool failed: ${(e as Error).message}`;
        log.error(tally.lastError);
        await sleep(1000, deps.stopSignal);
        continue;
      }
      if (!job) {
        await changed.wait(gen);
        continue;
      }
      if (lane.pacer) {
        const wait = lane.pacer.reserve(job.plan.messages.length, job.plan.bytes);
        if (wait > 0) await sleep(wait, deps.stopSignal);
        if (deps.closing()) {
          job.source.reject(job.batch, 'resend');
          break;
        }
      }
      current = job;
      try {
        await execute(job);
      } catch (e) {
        tally.lastError = `delivery failed: ${(e as Error).message}`;
        log.error(tally.lastError);
      } finally {
        current = undefined;
      }
      changed.notify();
    }
  }

  return {
    done: loop(),
    abandon() {
      if (current) current.abandoned = true;
    },
  };
}
