// The service's Prometheus metrics, on a registry the composition root owns
// (never prom-client's global one, so tests and several services coexist).
import client from 'prom-client';
import type { LagEntry } from '../ingest/handoff.js';

export interface Gauges {
  lag(): Promise<LagEntry[]>;
  pendingLive(): number;
  backfillQueued(): number;
  busyWorkers(): number;
  clockCorrections(): Map<string, number>;
  clockSteps(): Map<string, number>;
}

export interface Metrics {
  registry: client.Registry;
  consumed: client.Counter<'source'>;
  inferred: client.Counter<'source'>;
  skipped: client.Counter<'reason'>;
  dlq: client.Counter<'code'>;
  gaps: client.Counter;
  runResets: client.Counter;
  inferenceSeconds: client.Histogram<'batch_size'>;
  frameAgeSeconds: client.Histogram<'source'>;
  /** Frames whose corrected capture time lies ahead of ours: no age is reported for them. */
  clockAhead: client.Counter<'source'>;
  released: client.Counter<'reason'>;
  /** Wires the gauges that are read at scrape time. */
  observe(gauges: Gauges): void;
}

export function createMetrics(registry: client.Registry): Metrics {
  let gauges: Gauges | undefined;
  // Prometheus's standard process_* and nodejs_* names, so the usual Node.js dashboards work unchanged.
  client.collectDefaultMetrics({ register: registry });
  const m = {
    registry,
    consumed: new client.Counter({ name: 'frameline_frames_consumed_total', help: 'Records consumed', labelNames: ['source'] as const, registers: [registry] }),
    inferred: new client.Counter({ name: 'frameline_frames_inferred_total', help: 'Frames inferred and published', labelNames: ['source'] as const, registers: [registry] }),
    skipped: new client.Counter({ name: 'frameline_frames_skipped_total', help: 'Frames deliberately not inferred, by reason', labelNames: ['reason'] as const, registers: [registry] }),
    dlq: new client.Counter({ name: 'frameline_frames_dlq_total', help: 'Invalid records sent to the dead-letter topic, by error code', labelNames: ['code'] as const, registers: [registry] }),
    gaps: new client.Counter({ name: 'frameline_frame_sequence_gaps_total', help: 'Frames missing from camera sequences', registers: [registry] }),
    runResets: new client.Counter({ name: 'frameline_camera_run_resets_total', help: 'Camera windows reset because the agent restarted (new fl-run)', registers: [registry] }),
    inferenceSeconds: new client.Histogram({
      name: 'frameline_inference_seconds', help: 'Decode plus inference time of one batch', labelNames: ['batch_size'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4], registers: [registry],
    }),
    frameAgeSeconds: new client.Histogram({
      name: 'frameline_frame_age_at_inference_seconds', help: 'Capture to inference start', labelNames: ['source'] as const,
      buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 5, 30, 300, 3600], registers: [registry],
    }),
    clockAhead: new client.Counter({
      name: 'frameline_frames_clock_ahead_total', help: 'Frames captured "in the future" by our clock (camera clock ahead, not yet corrected): their age is left out of frame_age_at_inference and the records',
      labelNames: ['source'] as const, registers: [registry],
    }),
    released: new client.Counter({
      name: 'frameline_frames_released_total', help: 'Frames let go uncommitted (partitions moved, the service stopped, results not published): the group consumes them again',
      labelNames: ['reason'] as const, registers: [registry],
    }),
    observe(g: Gauges) {
      gauges = g;
    },
  };
  new client.Gauge({
    name: 'frameline_consumer_lag_records', help: 'Records not yet committed by the group, per partition', labelNames: ['topic', 'partition'] as const, registers: [registry],
    async collect() {
      this.reset();
      for (const e of (await gauges?.lag().catch(() => [])) ?? []) this.set({ topic: e.topic, partition: String(e.partition) }, e.lag);
    },
  });
  new client.Gauge({ name: 'frameline_cameras_waiting', help: 'Cameras with a live frame waiting for a worker', registers: [registry], collect() { this.set(gauges?.pendingLive() ?? 0); } });
  new client.Gauge({ name: 'frameline_backfill_queued', help: 'Backfill frames held in memory', registers: [registry], collect() { this.set(gauges?.backfillQueued() ?? 0); } });
  new client.Gauge({ name: 'frameline_inference_workers_busy', help: 'Workers running a batch', registers: [registry], collect() { this.set(gauges?.busyWorkers() ?? 0); } });
  new client.Gauge({
    name: 'frameline_camera_clock_offset_seconds', help: 'Correction applied to a camera\'s capture times because its clock disagrees with ours (0: clock fine)', labelNames: ['camera'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [camera, ms] of gauges?.clockCorrections() ?? []) this.set({ camera }, ms / 1000);
    },
  });
  new client.Counter({
    name: 'frameline_camera_clock_steps_total', help: 'Times a camera\'s capture times went backwards within a run (its clock was stepped back)', labelNames: ['camera'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [camera, n] of gauges?.clockSteps() ?? []) this.inc({ camera }, n);
    },
  });
  return m;
}
