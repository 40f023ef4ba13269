/**
 * Fleet health as the service wires it: the status reader feeds the fleet
 * state; a timer checks it and raises agent-offline / agent-spooling /
 * agent-throttled alerts on the alerts topic, one per episode (ALERTS.md,
 * "Fleet alerts").
 *
 * Several instances: each reads the whole status topic and derives the same
 * episodes with the same keys, but only the alert owner publishes them (the
 * service says who: the instance holding partition 0 of the frames topic in
 * the consumer group, so exactly one at a time). An instance that becomes the
 * owner first reads back the alert keys already on the topic, so an episode
 * the previous owner raised is not raised again.
 */
import type { Kafka } from 'kafkajs';
import type client from 'prom-client';
import type { AgentStatus, Logger } from '@frameline/shared';
import { type AlertPublisher, type AlertRecord } from '../publish/alerts.js';
import { readTail } from '../analysis/replay.js';
import { createFleetMetrics } from './metrics.js';
import { createStatusReader } from './reader.js';
import { createFleetState, throttledNow, type Episode, type FleetAgentView, type FleetOptions } from './state.js';

/** An alert of a fleet kind: the alert record, plus the agent's state when it was raised. */
export interface FleetAlertRecord extends AlertRecord {
  agent: {
    version: string;
    /** Epoch ms, agent clock: when its latest status was taken. */
    statusAt: number;
    broker: AgentStatus['broker'];
    cameraState: AgentStatus['cameraState'];
    spoolBytes: number;
    spoolOldestAgeMs: number | null;
    throttledNow?: string[];
    lastError: string | null;
  };
}

export interface Fleet {
  /** Starts reading the status topic; resolves once the consumer runs (not when the fleet is loaded). */
  start(): Promise<void>;
  stop(): Promise<void>;
  view(now?: number): FleetAgentView[];
}

export interface FleetDeps extends FleetOptions {
  kafka: Kafka;
  topic: string;
  alertsTopic: string;
  groupPrefix: string;
  logger: Logger;
  registry: client.Registry;
  publisher: AlertPublisher;
  /** Whether this instance raises the fleet's alerts now. */
  isAlertOwner(): boolean;
  onAlert(alert: FleetAlertRecord): void;
  /** Each status the fleet took, in topic order (after the view has it). */
  onStatus?(status: AgentStatus): void;
  checkIntervalMs: number;
  /** How far back alert keys are read when this instance becomes the owner (alerts.dedupeHorizon). */
  dedupeHorizonMs: number;
  maxKeys: number;
}

/** Without an answered fetch this long the status topic is out of reach: silence is no evidence then. */
const BLIND_MS = 5000;

/** Margin for the agents' clocks when reading back by time: a Pi's clock may be behind ours. */
const CLOCK_MARGIN_MS = 10 * 60_000;

export function createFleet(d: FleetDeps): Fleet {
  const log = d.logger.child('fleet');
  const state = createFleetState(d);
  const counters = createFleetMetrics(d.registry, () => view(Date.now()));
  let loggedInvalid = false;
  let loggedOverLimit = false;
  const reader = createStatusReader({
    kafka: d.kafka, topic: d.topic, groupPrefix: d.groupPrefix, logger: d.logger,
    onStatus(status, timestamp) {
      const now = Date.now();
      // Statuses read while catching up on the topic arrived earlier: their record time, never later than now.
      const seenAt = reader.loaded() ? now : Math.min(now, timestamp);
      const out = state.observe(status, seenAt);
      if (!out.accepted) {
        counters.overLimit.inc();
        if (!loggedOverLimit) log.warn('more agents than fleet.maxAgents; statuses of further agents are dropped (frameline_fleet_statuses_refused_total)', { camera: status.camera, maxAgents: d.maxAgents });
        loggedOverLimit = true;
        return;
      }
      counters.accepted.inc();
      if (out.previousBroker !== undefined && out.previousBroker !== status.broker) counters.brokerStateChanges.inc({ camera: status.camera, state: status.broker });
      try {
        d.onStatus?.(status);
      } catch (err) {
        log.error('agent status listener failed', { error: err as Error });
      }
      if (out.added && reader.loaded()) log.info('agent joined the fleet', { camera: status.camera, version: status.version, run: status.run });
    },
    onRemove: (camera) => state.remove(camera),
    onInvalid(reason) {
      counters.invalid.inc();
      if (!loggedInvalid) log.warn('skipped a record on the status topic that is not an agent status; further ones are only counted (frameline_fleet_statuses_invalid_total)', { topic: d.topic, reason });
      loggedInvalid = true;
    },
  });
  let timer: NodeJS.Timeout | undefined;
  let checking = false;
  // When this instance lost the broker too, every agent fell silent: offline
  // counts only the silence since the status topic was in reach again.
  let hearingSince = Infinity;
  const hearing = (now: number): number => {
    if (!reader.loaded() || now - reader.lastFetchAt() > BLIND_MS) hearingSince = Infinity;
    else if (hearingSince === Infinity) hearingSince = now;
    return Math.min(hearingSince, now);
  };
  /** Owner with the keys on the topic read back: may publish. */
  let ready = false;

  async function check(): Promise<void> {
    if (!reader.loaded()) return;
    const now = Date.now();
    const pending = state.check(now, hearing(now));
    if (!d.isAlertOwner()) {
      ready = false;
      return;
    }
    if (!ready) {
      await readBack(now);
      ready = true;
    }
    if (pending.length === 0) return;
    const alerts = pending.map((e) => toAlert(e, state.latest(e.camera), now));
    const published = await d.publisher.publish(alerts);
    // What the publisher held back was on the topic already: raised too.
    state.markRaised(alerts.map((a) => a.key));
    for (const a of published as FleetAlertRecord[]) {
      log.warn('fleet alert', { key: a.key, camera: a.camera, kind: a.kind, run: a.run, since: a.startedAt });
      d.onAlert(a);
    }
  }

  function view(now: number): FleetAgentView[] {
    return state.view(now, hearing(now));
  }

  async function readBack(now: number): Promise<void> {
    const oldest = state.oldestPending();
    if (oldest === undefined) return; // nothing open: no key of an episode to come can be on the topic
    const since = Math.max(now - d.dedupeHorizonMs, Math.min(now, oldest) - CLOCK_MARGIN_MS);
    const tail = await readTail({ kafka: d.kafka, groupPrefix: d.groupPrefix, topics: [d.alertsTopic], since, timeoutMs: 30_000, maxRecords: d.maxKeys, logger: d.logger });
    const keys = (tail.get(d.alertsTopic) ?? [])
      .filter((m) => m.headers?.['fl-kind']?.toString().startsWith('agent-'))
      .map((m) => m.headers?.['fl-alert-key']?.toString())
      .filter((k): k is string => !!k);
    d.publisher.remember(keys);
    log.info('fleet alert owner: read back the fleet alerts already raised', { keys: keys.length });
  }

  return {
    async start() {
      await reader.start();
      timer = setInterval(() => {
        if (checking) return;
        checking = true;
        check()
          .catch((err: Error) => log.error('fleet check failed; retrying at the next one', { error: err }))
          .finally(() => void (checking = false));
      }, d.checkIntervalMs);
      timer.unref();
    },
    async stop() {
      clearInterval(timer);
      await reader.stop();
    },
    view: (now = Date.now()) => view(now),
  };
}

function toAlert(e: Episode, s: AgentStatus | undefined, now: number): FleetAlertRecord {
  const flags = s ? throttledNow(s) : undefined;
  return {
    schema: 1, key: e.key, camera: e.camera, run: e.run, kind: e.kind, label: '', tracks: [], score: 1,
    startSeq: 0, startedAt: e.since, endSeq: 0, endedAt: now, seqs: [], raisedAt: now,
    agent: {
      version: s?.version ?? '', statusAt: s?.at ?? 0, broker: s?.broker ?? 'connecting', cameraState: s?.cameraState ?? 'missing',
      spoolBytes: s?.spool.bytes ?? 0, spoolOldestAgeMs: s?.spool.oldestAgeMs ?? null,
      ...(flags ? { throttledNow: flags } : {}), lastError: s?.lastError ?? null,
    },
  };
}
