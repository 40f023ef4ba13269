// Bounded lag by construction: the consumer hands every frame over without
// waiting; per camera only the newest frame waits (latest wins), frames older
// than maxLagMs are skipped, and frames reach a worker only when it is idle.
// Cameras that have waited longest go first; backfill only gets capacity
// that live frames leave free. Live cameras are spread over the workers:
// a batch takes no more than its share, so no worker idles while another
// holds every camera (a camera never has two frames in flight).
import { within } from '@frameline/shared';
import type { FrameSink, Job } from '../ingest/handoff.js';

/** Capture times up to this far ahead of our clock are NTP-sized error: their age reads as 0. */
export const CLOCK_AHEAD_TOLERANCE_MS = 500;

/**
 * A frame's age (capture, corrected by the camera's clock offset, to now) as
 * it may be reported, in ms; undefined when the capture time lies clearly
 * ahead of ours, i.e. the camera clock is ahead and not yet corrected.
 */
export function reportableAge(ageMs: number): number | undefined {
  if (ageMs >= 0) return ageMs;
  return ageMs >= -CLOCK_AHEAD_TOLERANCE_MS ? 0 : undefined;
}

export type SkipReason = 'superseded' | 'too-old' | 'inference-error';
/** Why a frame was let go uncommitted, for the group to consume again: its partition moved, or the service stops. */
export type ReleaseReason = 'rebalance' | 'stop';

/**
 * What runs a batch of JPEGs (the inference worker pool implements it; tests
 * may pass their own). Out is whatever a run returns; the scheduler only
 * hands it to onBatch.
 */
export interface BatchRunner<Out, Hint = never> {
  /** Whether several frames in one run are cheaper than one run each (known once the runner has started). */
  batchable(): boolean;
  idleCount(): number;
  /** Workers that run batches (the pool's size); absent: one. */
  workers?(): number;
  /** Runs one batch on an idle worker (the caller checks idleCount first). */
  run(jpegs: Buffer[], hints?: (Hint | undefined)[]): Promise<Out>;
  /** Called whenever a worker becomes idle. */
  onIdle(listener: () => void): void;
}

export interface Dispatched {
  job: Job;
  /** Frames of this camera skipped since its previous inferred frame. */
  skippedSince: number;
  startedAt: number;
  /** Capture to inference start. */
  ageMs: number;
}

export interface SchedulerOptions<Out, Hint = never> {
  maxLagMs: number;
  /** Most frames in one run, when the runner is batchable. */
  maxBatch: number;
  backfillQueue: number;
  pool: BatchRunner<Out, Hint>;
  onSkip(job: Job, reason: SkipReason): void;
  /** A waiting frame let go without a result or a skip; its offset stays uncommitted. */
  onRelease?(job: Job, reason: ReleaseReason): void;
  onDispatch?(batch: Dispatched[]): void;
  onBatch(batch: Dispatched[], output: Out | Error): void;
  /** The backfill queue has room again (the consumer may resume the backfill topic). */
  onBackfillRoom?(): void;
  /** Where the model should look in this frame (tracking); see inference/tracking.ts. */
  hintFor?(job: Job): Hint | undefined;
  now?: () => number;
}

export interface Scheduler extends FrameSink {
  stats(): { pendingLive: number; backfillQueued: number; inFlightBatches: number; lastDispatchAt: number; lastCompletionAt: number };
  /** Stops dispatching and waits (up to timeoutMs) for batches in flight. */
  drain(timeoutMs: number): Promise<void>;
}

interface CameraSlot {
  pending?: Job;
  waitingSince: number;
  inFlight: boolean;
  skippedSince: number;
}

export function createScheduler<Out, Hint = never>(options: SchedulerOptions<Out, Hint>): Scheduler {
  const now = options.now ?? Date.now;
  const cameras = new Map<string, CameraSlot>();
  const limit = () => (options.pool.batchable() ? Math.max(1, options.maxBatch) : 1);
  /**
   * Frames per live batch: a batchable runner gets each worker's share of the
   * cameras with a frame waiting or in flight (at least 1, at most maxBatch).
   * With 3 cameras on 2 workers that is 1: one batch of all three would leave
   * the other worker idle (their next frames wait for that batch), and
   * batches of 2 and 1 would infer the lone camera twice as often.
   */
  const liveLimit = () => {
    let active = 0;
    for (const s of cameras.values()) if (s.pending || s.inFlight) active++;
    return Math.max(1, Math.min(limit(), Math.floor(active / Math.max(1, options.pool.workers?.() ?? 1))));
  };
  let backfill: Job[] = [];
  let backfillInFlight = false;
  let inFlight = new Set<Promise<void>>();
  let stopped = false;
  let lastDispatchAt = now();
  let lastCompletionAt = now();
  let pumping = false;

  const slotOf = (camera: string) => {
    let s = cameras.get(camera);
    if (!s) {
      s = { waitingSince: 0, inFlight: false, skippedSince: 0 };
      cameras.set(camera, s);
    }
    return s;
  };

  const skip = (job: Job, reason: SkipReason) => {
    if (job.source === 'live') slotOf(job.frame.camera).skippedSince++;
    options.onSkip(job, reason);
  };

  const release = (jobs: Job[], reason: ReleaseReason) => {
    for (const job of jobs) options.onRelease?.(job, reason);
  };
  /** Every waiting frame, taken out of the scheduler. */
  const takeWaiting = (): Job[] => {
    const jobs = [...cameras.values()].flatMap((s) => (s.pending ? [s.pending] : []));
    for (const s of cameras.values()) s.pending = undefined;
    jobs.push(...backfill);
    backfill = [];
    return jobs;
  };

  const ageOf = (job: Job, t: number) => t - (job.frame.capturedAt + (job.clockCorrectionMs ?? 0));

  /** Expired waiting frames are skipped even while every worker is busy, so their offsets move on. */
  const sweep = () => {
    const t = now();
    for (const s of cameras.values()) {
      if (s.pending && ageOf(s.pending, t) > options.maxLagMs) {
        const job = s.pending;
        s.pending = undefined;
        skip(job, 'too-old');
      }
    }
  };
  const sweeper = setInterval(() => {
    sweep();
    pump();
  }, Math.max(20, Math.min(100, options.maxLagMs / 4)));
  sweeper.unref();

  function takeLive(t: number): Dispatched[] {
    const ready = [...cameras.values()].filter((s) => s.pending && !s.inFlight).sort((a, b) => a.waitingSince - b.waitingSince);
    const batch: Dispatched[] = [];
    const most = liveLimit();
    for (const s of ready) {
      if (batch.length >= most) break;
      const job = s.pending!;
      s.pending = undefined;
      const ageMs = ageOf(job, t);
      if (ageMs > options.maxLagMs) {
        skip(job, 'too-old');
        continue;
      }
      s.inFlight = true;
      batch.push({ job, skippedSince: s.skippedSince, startedAt: t, ageMs });
      s.skippedSince = 0;
    }
    return batch;
  }

  function takeBackfill(t: number): Dispatched[] {
    if (backfillInFlight || backfill.length === 0) return [];
    const hadNoRoom = backfill.length >= options.backfillQueue;
    const jobs = backfill.splice(0, limit());
    backfillInFlight = true;
    if (hadNoRoom) queueMicrotask(() => options.onBackfillRoom?.());
    return jobs.map((job) => ({ job, skippedSince: 0, startedAt: t, ageMs: ageOf(job, t) }));
  }

  function dispatch(batch: Dispatched[]): void {
    lastDispatchAt = batch[0]!.startedAt;
    options.onDispatch?.(batch);
    const isBackfill = batch[0]!.job.source === 'backfill';
    const hints = options.hintFor && batch.map((d) => options.hintFor!(d.job));
    const done = options.pool.run(batch.map((d) => d.job.frame.jpeg), hints).then(
      (out) => finish(out),
      (err: Error) => finish(err),
    );
    const finish = (out: Out | Error) => {
      lastCompletionAt = now();
      if (isBackfill) backfillInFlight = false;
      else for (const d of batch) slotOf(d.job.frame.camera).inFlight = false;
      options.onBatch(batch, out);
    };
    const tracked = done.finally(() => {
      inFlight.delete(tracked);
      pump();
    });
    inFlight.add(tracked);
  }

  function pump(): void {
    if (pumping || stopped) return;
    pumping = true;
    try {
      while (options.pool.idleCount() > 0) {
        const t = now();
        let batch = takeLive(t);
        if (batch.length === 0) batch = takeBackfill(t);
        if (batch.length === 0) break;
        dispatch(batch);
      }
    } finally {
      pumping = false;
    }
  }

  options.pool.onIdle(pump);

  return {
    offerLive(job) {
      if (stopped) return release([job], 'stop');
      const s = slotOf(job.frame.camera);
      if (ageOf(job, now()) > options.maxLagMs) {
        skip(job, 'too-old');
        return;
      }
      if (s.pending) skip(s.pending, 'superseded');
      else s.waitingSince = now();
      s.pending = job;
      pump();
    },
    offerBackfill(job) {
      if (stopped) return release([job], 'stop');
      backfill.push(job);
      pump();
    },
    backfillRoom: () => Math.max(0, options.backfillQueue - backfill.length),
    reset() {
      release(takeWaiting(), 'rebalance');
    },
    stats: () => ({
      pendingLive: [...cameras.values()].filter((s) => s.pending).length,
      backfillQueued: backfill.length,
      inFlightBatches: inFlight.size,
      lastDispatchAt,
      lastCompletionAt,
    }),
    async drain(timeoutMs) {
      stopped = true;
      clearInterval(sweeper);
      release(takeWaiting(), 'stop');
      await within(Promise.all([...inFlight]), timeoutMs);
      inFlight = new Set();
    },
  };
}
