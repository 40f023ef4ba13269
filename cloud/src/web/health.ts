// /healthz: real liveness from the stages' own progress (the consumer fetched
// and took records recently, a worker is ready, batches start and finish
// while frames wait), not "the process exists". Also serves /metrics.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type client from 'prom-client';
import type { PoolHealth } from '../inference/pool/pool.js';
import type { IngestHealth } from '../ingest/consumer.js';
import type { LagEntry } from '../ingest/handoff.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { HttpServer } from './server.js';

export interface HealthReport {
  ok: boolean;
  consume: { ok: boolean; reason?: string; sinceFetchMs: number; sinceBatchMs: number };
  inference: { ok: boolean; reason?: string; workers: number; ready: number; busy: number; oldestInFlightMs: number; pendingLive: number; backfillQueued: number };
}

export interface HealthSources {
  /** Progress older than this (ms) while work is pending is a failure. */
  stallAfter: number;
  /** The live frames topic: records waiting there count as pending work. */
  framesTopic: string;
  ingest: { health(): IngestHealth; lag(): Promise<LagEntry[]> };
  pool: { health(): PoolHealth };
  scheduler: Pick<Scheduler, 'stats'>;
  now?: () => number;
}

export function createHealthCheck(s: HealthSources): () => Promise<HealthReport> {
  const now = s.now ?? Date.now;
  return async () => {
    const t = now();
    const stall = s.stallAfter;
    const ih = s.ingest.health();
    const ph = s.pool.health();
    const st = s.scheduler.stats();
    const consume: HealthReport['consume'] = { ok: true, sinceFetchMs: t - ih.lastFetchAt, sinceBatchMs: t - ih.lastBatchAt };
    if (!ih.running) Object.assign(consume, { ok: false, reason: 'consumer not running' });
    else if (ih.crashed) Object.assign(consume, { ok: false, reason: `consumer crashed: ${ih.crashed}` });
    else if (consume.sinceFetchMs > stall) Object.assign(consume, { ok: false, reason: `no fetch for ${consume.sinceFetchMs} ms` });
    else if (consume.sinceBatchMs > stall) {
      const lag = await s.ingest.lag().catch(() => []);
      const waiting = lag.filter((e) => e.topic === s.framesTopic).reduce((n, e) => n + e.lag, 0);
      if (waiting > 0) Object.assign(consume, { ok: false, reason: `${waiting} live records waiting, none consumed for ${consume.sinceBatchMs} ms` });
    }
    const inference: HealthReport['inference'] = { ok: true, workers: ph.size, ready: ph.ready, busy: ph.busy, oldestInFlightMs: ph.oldestInFlightMs, pendingLive: st.pendingLive, backfillQueued: st.backfillQueued };
    const workPending = st.pendingLive + st.backfillQueued > 0;
    if (ph.ready === 0) Object.assign(inference, { ok: false, reason: 'no inference worker is ready' });
    else if (ph.oldestInFlightMs > stall) Object.assign(inference, { ok: false, reason: `a batch has been running for ${ph.oldestInFlightMs} ms` });
    else if (workPending && t - Math.max(st.lastDispatchAt, st.lastCompletionAt) > stall) Object.assign(inference, { ok: false, reason: 'frames wait but no batch started or finished recently' });
    return { ok: consume.ok && inference.ok, consume, inference };
  };
}

/** GET /metrics (Prometheus text) and GET /healthz (200 or 503, JSON). */
export function serveHealthAndMetrics(http: HttpServer, registry: client.Registry, health: () => Promise<HealthReport>): void {
  http.route('GET', '/metrics', async (_req: IncomingMessage, res: ServerResponse) => {
    const body = await registry.metrics();
    res.writeHead(200, { 'content-type': registry.contentType }).end(body);
  });
  http.route('GET', '/healthz', async (_req: IncomingMessage, res: ServerResponse) => {
    const report = await health();
    res.writeHead(report.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(report) + '\n');
  });
}
