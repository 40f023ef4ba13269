// A pool of inference worker threads, one per core by default. Bounded: each
// worker holds at most one batch, and the scheduler only dispatches to idle
// workers. A worker that dies is replaced with backoff; its batch fails. A
// worker whose batch runs past batchTimeoutMs is wedged (a native hang in
// the model, say): it is terminated, which fails the batch and restarts it.
import { Worker } from 'node:worker_threads';
import { createBackoff, DEFAULT_MAX_FRAME_PIXELS, type Backoff, type Logger } from '@frameline/shared';
import type { BatchRunner } from '../../scheduler/scheduler.js';
import type { ImageOutcome, ModelSpec, RunRequest, WorkerInit, WorkerMessage } from './protocol.js';
import type { TrackingHint } from '../index.js';

export interface BatchOutput {
  outcomes: ImageOutcome[];
  decodeMs: number;
  inferMs: number;
}

export interface PoolHealth {
  size: number;
  ready: number;
  busy: number;
  /** How long the oldest batch in flight has been running (0 when none). */
  oldestInFlightMs: number;
}

export interface ModelInfo {
  name: string;
  batchable: boolean;
}

export interface WorkerPool extends BatchRunner<BatchOutput, TrackingHint> {
  /** Starts every worker; rejects when the model cannot be built. */
  start(): Promise<ModelInfo>;
  /** The model's name, once started. */
  modelName(): string | undefined;
  health(): PoolHealth;
  close(): Promise<void>;
}

export interface PoolOptions {
  size: number;
  /** Which model each worker builds (configuredModel(config.model) in production). */
  model: ModelSpec;
  logLevel: WorkerInit['logLevel'];
  logger: Logger;
  /** A batch running longer than this gets its worker terminated and restarted. */
  batchTimeoutMs: number;
  /** Pixel limit of every decode (ingest.maxFramePixels); default DEFAULT_MAX_FRAME_PIXELS. */
  maxPixels?: number;
}

interface Slot {
  index: number;
  worker?: Worker;
  ready: boolean;
  inFlight?: { id: number; since: number; timer: NodeJS.Timeout; resolve(o: BatchOutput): void; reject(e: Error): void };
  /** Delay before respawning after an exit; reset once the worker is ready again. */
  restart: Backoff;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

export function createWorkerPool(options: PoolOptions): WorkerPool {
  const log = options.logger;
  const slots: Slot[] = Array.from({ length: options.size }, (_, index) => ({ index, ready: false, restart: createBackoff({ initialMs: 1000, maxMs: 30_000, jitter: 0 }) }));
  const idleListeners: (() => void)[] = [];
  let nextId = 1;
  let closing = false;
  let info: ModelInfo | undefined;

  const notifyIdle = () => idleListeners.forEach((l) => l());

  function spawn(slot: Slot): Promise<ModelInfo> {
    return new Promise((resolve, reject) => {
      const init: WorkerInit = { model: options.model, logLevel: options.logLevel, index: slot.index, maxPixels: options.maxPixels ?? DEFAULT_MAX_FRAME_PIXELS };
      const worker = new Worker(WORKER_URL, { workerData: init });
      slot.worker = worker;
      let settled = false;
      worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'ready') {
          slot.ready = true;
          slot.restart.reset();
          settled = true;
          resolve({ name: m.name, batchable: m.batchable });
          notifyIdle();
        } else if (m.type === 'failed') {
          settled = true;
          reject(new Error(m.error));
          void worker.terminate();
        } else if (slot.inFlight && slot.inFlight.id === m.id) {
          const job = slot.inFlight;
          slot.inFlight = undefined;
          clearTimeout(job.timer);
          if (m.type === 'done') job.resolve({ outcomes: m.outcomes, decodeMs: m.decodeMs, inferMs: m.inferMs });
          else job.reject(new Error(m.error));
          notifyIdle();
        }
      });
      worker.on('error', (err) => log.error('inference worker crashed', { worker: slot.index, error: err }));
      worker.on('exit', (code) => {
        slot.ready = false;
        slot.worker = undefined;
        if (slot.inFlight) {
          clearTimeout(slot.inFlight.timer);
          slot.inFlight.reject(new Error(`inference worker ${slot.index} exited (code ${code}) during a batch`));
          slot.inFlight = undefined;
        }
        if (!settled) {
          settled = true;
          reject(new Error(`inference worker ${slot.index} exited (code ${code}) before its model was ready`));
        }
        if (closing || !info) return;
        const delay = slot.restart.next();
        log.warn('inference worker exited; restarting it', { worker: slot.index, code, inMs: delay });
        setTimeout(() => {
          if (!closing) spawn(slot).catch((err: Error) => log.error('inference worker restart failed', { worker: slot.index, error: err }));
        }, delay).unref();
      });
    });
  }

  return {
    async start() {
      const infos = await Promise.all(slots.map(spawn));
      info = infos[0]!;
      log.info('inference workers ready', { workers: slots.length, model: info.name, batchable: info.batchable });
      return info;
    },
    modelName: () => info?.name,
    batchable: () => info?.batchable ?? false,
    idleCount: () => slots.filter((s) => s.ready && !s.inFlight).length,
    workers: () => slots.length,
    run(jpegs, hints) {
      const slot = slots.find((s) => s.ready && !s.inFlight);
      if (!slot?.worker) return Promise.reject(new Error('no idle inference worker'));
      const id = nextId++;
      // Copy out of the (shared, pooled) Kafka buffers so only these bytes move to the worker.
      const copies = jpegs.map((j) => new Uint8Array(j));
      const req: RunRequest = { type: 'run', id, jpegs: copies, ...(hints ? { hints } : {}) };
      return new Promise<BatchOutput>((resolve, reject) => {
        const worker = slot.worker!;
        const timer = setTimeout(() => {
          log.error('inference worker wedged: terminating it', { worker: slot.index, batchMs: options.batchTimeoutMs, frames: jpegs.length });
          void worker.terminate();
        }, options.batchTimeoutMs);
        timer.unref();
        slot.inFlight = { id, since: Date.now(), timer, resolve, reject };
        slot.worker!.postMessage(req, copies.map((c) => c.buffer as ArrayBuffer));
      });
    },
    onIdle: (listener) => void idleListeners.push(listener),
    health() {
      const now = Date.now();
      const busy = slots.filter((s) => s.inFlight);
      return {
        size: slots.length,
        ready: slots.filter((s) => s.ready).length,
        busy: busy.length,
        oldestInFlightMs: busy.reduce((m, s) => Math.max(m, now - s.inFlight!.since), 0),
      };
    },
    async close() {
      closing = true;
      await Promise.all(slots.map(async (s) => {
        const w = s.worker;
        if (!w) return;
        const exited = new Promise((r) => w.once('exit', r));
        w.postMessage({ type: 'close' });
        const timer = setTimeout(() => void w.terminate(), 5000);
        await exited;
        clearTimeout(timer);
      }));
    },
  };
}
