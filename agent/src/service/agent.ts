// The agent's composition root: builds camera → pipeline → delivery from one
// validated config, wires systemd notifications, metrics and signals, and
// runs until SIGTERM/SIGINT. Sinks start before sources and stop after them,
// so no frame is produced into a closed pipe.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Logger, PiHealth } from '@frameline/shared';
import { createCameraSource } from '../camera/index.js';
import { createPipeline } from '../pipeline/index.js';
import { createDelivery, type DeliveryStatus } from '../delivery/index.js';
import { cameraOptions, deliveryOptions, kafkaConnection, pipelineOptions, type AgentConfig } from '../config.js';
import { createNotifier } from './notify.js';
import { createAgentMetrics, serveMetrics } from './metrics.js';
import { createStatusTaker } from './agent-status.js';
import { createStatusPublisher, type StatusPublisher } from './status-publisher.js';
import { describePiHealth, readPiHealth } from './pi-health.js';

// From dist/src/service/ (compiled, and in the Pi release) three levels up is the package root.
const AGENT_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** Installs SIGTERM/SIGINT/SIGHUP handlers (the CLI does; tests may drive stop() themselves). */
  handleSignals?: boolean;
}

export interface RunningAgent {
  run: string;
  /** Resolves when the agent has stopped (after stop() or the camera ended). */
  done: Promise<void>;
  stop(reason?: string): Promise<void>;
  statusLine(): string;
}

function humanBytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)}KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)}MiB`;
  return `${(n / 1024 ** 3).toFixed(2)}GiB`;
}

function totalDropped(d: DeliveryStatus): number {
  return Object.values(d.dropped).reduce((a, b) => a + b, 0) + d.evicted;
}

export async function startAgent(config: AgentConfig, logger: Logger, options: RunOptions = {}): Promise<RunningAgent> {
  const env = options.env ?? process.env;
  const run = randomUUID();
  const startedAt = Date.now();
  const log = logger.child('agent', { camera: config.camera.id });
  const notifier = createNotifier(env, logger);

  const delivery = createDelivery(
    { ...deliveryOptions(config), onSent: (ms, sample) => metrics.observeSendLatency(ms, sample.spooled) },
    { logger },
  );
  const source = createCameraSource(cameraOptions(config, env), logger);
  const pipeline = createPipeline(pipelineOptions(config), logger);
  // The Pi's sensors, re-read with each status line; {} on machines without them.
  const piFiles = { temperatureFile: config.status.temperatureFile, throttledFile: config.status.throttledFile };
  let pi: PiHealth = await readPiHealth(piFiles);
  const status = config.status.enabled ? createAgentStatus() : undefined;
  const metrics = createAgentMetrics(config.camera.id, {
    camera: source.stats, pipeline: pipeline.stats, delivery: delivery.status, pi: () => pi,
    ...(status ? { status: status.stats } : {}),
  });

  function createAgentStatus(): StatusPublisher {
    const taker = createStatusTaker(
      { camera: config.camera.id, version: AGENT_VERSION, run, startedAt },
      { camera: source.stats, pipeline: pipeline.stats, delivery: delivery.status, captureFps: () => fps, pi: () => pi },
    );
    // Its own client id, so the broker's logs and quotas tell status from frames.
    const kafka = { ...kafkaConnection(config), clientId: `${kafkaConnection(config).clientId}-status` };
    return createStatusPublisher({ kafka, topic: config.topics.agents, intervalMs: config.status.intervalSeconds * 1000 }, taker, { logger });
  }

  // fps over the last status period, from the pipeline's passed counter
  let lastPassed = 0;
  let lastAt = Date.now();
  let fps = 0;
  const statusLine = () => {
    const d = delivery.status();
    const c = source.stats();
    const p = pipeline.stats();
    const policy = d.mode === 'reliable' ? (d.policy === 'direct' ? 'sending' : 'spooling') : d.policy === 'dropping' ? 'dropping' : 'sending';
    return [
      `${fps.toFixed(1)} fps`,
      `sent ${d.acked}`,
      `dropped ${totalDropped(d) + p.droppedBehind + c.droppedFrames}`,
      `spool ${humanBytes(d.spooled.bytes)} (${d.spooled.frames} frames)`,
      `broker ${d.broker}, ${policy}`,
      ...(c.stalled ? ['CAMERA STALLED'] : []),
      ...(d.spoolDiskFull ? ['SPOOL DISK FULL, evicting the oldest frames'] : []),
      ...(d.lastError && d.broker !== 'connected' ? [`last error: ${d.lastError}`] : []),
      ...(describePiHealth(pi) ? [describePiHealth(pi)] : []),
    ].join(', ');
  };

  await delivery.start();
  status?.start();
  let metricsServer: Server | undefined;
  if (config.metrics.listen) metricsServer = await serveMetrics(config.metrics.listen, metrics.registry, log);
  try {
    await source.start();
  } catch (err) {
    // Nothing was captured; tell the fleet why, close the sinks so the process can exit cleanly.
    status?.publishNow({ cameraState: 'missing', lastError: (err as Error).message.slice(0, 512) });
    metricsServer?.close();
    await Promise.all([delivery.stop(), status?.stop(5000)]);
    throw err;
  }
  notifier.ready(statusLine());
  log.info('agent started', { run, mode: config.delivery.mode, backfill: config.delivery.backfill, source: config.camera.source, brokers: config.kafka.brokers.join(',') });

  // Liveness for the watchdog: the main loop moved a frame, or the pipeline
  // is still pulling frames the gate or fps cap legitimately dropped.
  let lastProgressAt = Date.now();
  let lastCaptured = 0;
  // A camera may legitimately restart (stallSeconds, then backoff) before it is called dead.
  const progressGraceMs = config.camera.stallSeconds * 3000;
  const timers: NodeJS.Timeout[] = [];
  timers.push(setInterval(() => {
    const now = Date.now();
    const p = pipeline.stats();
    fps = ((p.passed - lastPassed) * 1000) / Math.max(1, now - lastAt);
    lastPassed = p.passed;
    lastAt = now;
    notifier.status(statusLine());
    void readPiHealth(piFiles).then((v) => (pi = v));
  }, 5000));
  if (notifier.watchdogIntervalMs > 0) {
    timers.push(setInterval(() => {
      const captured = pipeline.stats().captured;
      if (captured !== lastCaptured) {
        lastCaptured = captured;
        lastProgressAt = Date.now();
      }
      if (Date.now() - lastProgressAt < progressGraceMs) notifier.watchdog();
      else log.error('no frame for a long time: withholding the watchdog ping so systemd restarts the agent', { sinceMs: Date.now() - lastProgressAt });
    }, notifier.watchdogIntervalMs));
  }

  let seq = 0;
  const loop = (async () => {
    for await (const f of pipeline.run(source.frames())) {
      lastProgressAt = Date.now();
      delivery.submit({ camera: config.camera.id, run, seq: seq++, capturedAt: f.capturedAt, width: f.width, height: f.height, jpeg: f.jpeg, ...(f.motion !== undefined ? { motion: f.motion } : {}) });
    }
  })();

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop requested') => {
    stopping ??= (async () => {
      log.info('stopping', { reason });
      notifier.stopping(`stopping: ${reason}`);
      for (const t of timers) clearInterval(t);
      await source.stop();
      await loop.catch((err: unknown) => log.error('frame loop failed', { error: err as Error }));
      await Promise.all([delivery.stop(), status?.stop()]);
      metricsServer?.close();
      const d = delivery.status();
      log.info('stopped', { sent: d.acked, spooledFrames: d.spooled.frames, dropped: totalDropped(d) });
      await notifier.flush();
    })();
    return stopping;
  };
  // The camera ending by itself (file source without loop) stops the agent too.
  const done = loop.then(() => stop('camera stream ended'), async (err: unknown) => {
    log.error('frame loop failed', { error: err as Error });
    await stop('frame loop failed');
    throw err;
  });

  if (options.handleSignals) {
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    // Logs go to stdout (the journal under systemd): there is no file to reopen.
    process.on('SIGHUP', () => log.info('SIGHUP: logs go to stdout, nothing to reopen'));
  }
  return { run, done, stop, statusLine };
}
