// Prometheus metrics of one agent process, on an optional localhost
// /metrics endpoint. The registry is built here, in the composition root's
// call, never at import time. Counts kept by the stages (camera, pipeline,
// delivery) are mirrored into counters at scrape time, so the stages stay
// free of prom-client.
import { createServer, type Server } from 'node:http';
import client from 'prom-client';
import { splitHostPort, type Logger } from '@frameline/shared';
import type { CameraStats } from '../camera/index.js';
import type { PipelineStats } from '../pipeline/index.js';
import type { DeliveryStatus } from '../delivery/index.js';
import type { PiHealth } from '@frameline/shared';
import type { StatusPublisherStats } from './status-publisher.js';

export interface StatsSources {
  camera: () => CameraStats;
  pipeline: () => PipelineStats;
  delivery: () => DeliveryStatus;
  /** The latest Pi health reading; gauges stay empty where the hardware offers none. */
  pi?: () => PiHealth;
  /** The status publisher's counters, when status records are on. */
  status?: () => StatusPublisherStats;
}

export interface AgentMetrics {
  registry: client.Registry;
  /** For delivery's onSent callback. */
  observeSendLatency(ms: number, spooled: boolean): void;
}

/** A counter that follows a monotonic count kept elsewhere (inc by the delta at each scrape). */
function mirroredCounter(registry: client.Registry, name: string, help: string, labelNames: string[], read: () => Record<string, number>): void {
  const last = new Map<string, number>();
  const counter: client.Counter<string> = new client.Counter({
    name, help, labelNames, registers: [registry],
    collect() {
      for (const [label, value] of Object.entries(read())) {
        const delta = value - (last.get(label) ?? 0);
        if (delta > 0) counter.inc(labelNames.length ? { [labelNames[0]!]: label } : {}, delta);
        last.set(label, value);
      }
    },
  });
}

function gauge(registry: client.Registry, name: string, help: string, read: () => number): void {
  const g: client.Gauge = new client.Gauge({ name, help, registers: [registry], collect() { g.set(read()); } });
}

/** SoC temperature and the firmware's throttled flags; no sample at all (not 0) where the hardware offers none. */
function piGauges(registry: client.Registry, p: string, read: () => PiHealth): void {
  const temp: client.Gauge<'sensor'> = new client.Gauge({
    name: `${p}soc_temperature_celsius`, help: 'Raspberry Pi SoC temperature.', labelNames: ['sensor'], registers: [registry],
    collect() {
      const t = read().socTempC;
      if (t === undefined) temp.reset();
      else temp.set({ sensor: 'soc' }, t);
    },
  });
  const flags = ['underVoltageNow', 'frequencyCappedNow', 'throttledNow', 'softTempLimitNow', 'underVoltageOccurred', 'frequencyCappedOccurred', 'throttledOccurred', 'softTempLimitOccurred'] as const;
  const throttled: client.Gauge<'flag'> = new client.Gauge({
    name: `${p}pi_throttled`, help: 'Raspberry Pi firmware throttled flags (get_throttled), 1 when set; "Occurred" ones since boot.', labelNames: ['flag'], registers: [registry],
    collect() {
      const t = read().throttled;
      if (!t) return throttled.reset();
      for (const f of flags) throttled.set({ flag: f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) }, t[f] ? 1 : 0);
    },
  });
}

export function createAgentMetrics(camera: string, sources: StatsSources): AgentMetrics {
  const registry = new client.Registry();
  registry.setDefaultLabels({ camera });
  // Prometheus's standard process_* and nodejs_* names, so the usual Node.js dashboards work unchanged.
  client.collectDefaultMetrics({ register: registry });
  const p = 'frameline_agent_';
  mirroredCounter(registry, `${p}frames_captured_total`, 'Frames from the camera.', [], () => ({ '': sources.pipeline().captured }));
  mirroredCounter(registry, `${p}frames_passed_total`, 'Frames that left the pipeline for delivery.', [], () => ({ '': sources.pipeline().passed }));
  mirroredCounter(registry, `${p}frames_sent_total`, 'Frames acknowledged by the broker.', [], () => ({ '': sources.delivery().acked }));
  mirroredCounter(registry, `${p}frames_dropped_total`, 'Frames dropped, by reason.', ['reason'], () => {
    const pl = sources.pipeline();
    const cam = sources.camera();
    return {
      fps_cap: pl.droppedByFps, motion_gate: pl.droppedByGate, pipeline_behind: pl.droppedBehind, pipeline_failed: pl.failed, too_many_pixels: pl.droppedTooManyPixels,
      camera_queue: cam.droppedFrames, spool_evicted: sources.delivery().evicted,
      ...Object.fromEntries(Object.entries(sources.delivery().dropped).map(([k, v]) => [`delivery_${k}`, v])),
    };
  });
  mirroredCounter(registry, `${p}frames_backfilled_total`, 'Spooled frames acknowledged after an outage.', [], () => ({ '': sources.delivery().backfillSent }));
  mirroredCounter(registry, `${p}camera_restarts_total`, 'Camera process restarts.', [], () => ({ '': sources.camera().restarts }));
  mirroredCounter(registry, `${p}camera_stalls_total`, 'Camera stalls (no frame for stallSeconds).', [], () => ({ '': sources.camera().stalls }));
  mirroredCounter(registry, `${p}spool_torn_records_total`, 'Torn spool records skipped after a crash.', [], () => ({ '': sources.delivery().tornRecordsSkipped }));
  gauge(registry, `${p}spool_bytes`, 'Bytes waiting in the disk spool.', () => sources.delivery().spooled.bytes);
  gauge(registry, `${p}spool_frames`, 'Frames waiting in the disk spool.', () => sources.delivery().spooled.frames);
  gauge(registry, `${p}queue_frames`, 'Frames waiting in memory for the broker.', () => sources.delivery().queued.frames);
  gauge(registry, `${p}broker_connected`, '1 when the broker connection is up.', () => (sources.delivery().broker === 'connected' ? 1 : 0));
  if (sources.pi) piGauges(registry, p, sources.pi);
  const status = sources.status;
  if (status) {
    mirroredCounter(registry, `${p}status_records_sent_total`, 'Status records the broker acknowledged (topics.agents).', [], () => ({ '': status().sent }));
    mirroredCounter(registry, `${p}status_records_superseded_total`, 'Status records replaced by a newer one before they could be sent.', [], () => ({ '': status().superseded }));
    mirroredCounter(registry, `${p}status_changes_total`, 'Statuses taken at once because the broker state, camera state or last error changed.', [], () => ({ '': status().changes }));
  }
  const latency = new client.Histogram({
    name: `${p}send_latency_seconds`,
    help: 'From submit (capture, for spooled frames) to broker acknowledgement.',
    labelNames: ['path'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
    registers: [registry],
  });
  return {
    registry,
    observeSendLatency: (ms, spooled) => latency.observe({ path: spooled ? 'spool' : 'direct' }, ms / 1000),
  };
}

/** Serves /metrics on `listen` (host:port). Returns the server so the caller can close it. */
export async function serveMetrics(listen: string, registry: client.Registry, logger: Logger): Promise<Server> {
  const { host, port } = splitHostPort(listen);
  if (!['127.0.0.1', 'localhost', '::1'].includes(host)) {
    logger.warn('metrics endpoint is reachable beyond this machine; it has no authentication', { listen });
  }
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500).end(String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  server.unref();
  logger.info('metrics at /metrics', { listen });
  return server;
}
