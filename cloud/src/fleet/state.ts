// The fleet as this instance knows it: the latest status per agent from the
// agents' status topic, what is wrong with each (offline, spooling,
// throttled, ...), and the open alert episodes. Pure: the caller passes the
// clock, so the rules are testable without a broker.
import { createHash } from 'node:crypto';
import { decodeThrottled, type AgentStatus } from '@frameline/shared';

/** At a glance, worst first: `offline` (no status), `failing` (frames are lost or late), `degraded`, `healthy`. */
export type AgentHealth = 'offline' | 'failing' | 'degraded' | 'healthy';
const HEALTH_RANK: Record<AgentHealth, number> = { offline: 0, failing: 1, degraded: 2, healthy: 3 };

export type FleetAlertKind = 'agent-offline' | 'agent-spooling' | 'agent-throttled';

/** One row of the fleet view (also what /live sends the page). */
export interface FleetAgentView {
  camera: string;
  health: AgentHealth;
  /** What makes it less than healthy, in operator words; empty when healthy. */
  reasons: string[];
  run: string;
  version: string;
  /** ms since this instance last received a status (cloud clock). */
  lastSeenMs: number;
  uptimeSeconds: number;
  captureFps: number;
  broker: AgentStatus['broker'];
  cameraState: AgentStatus['cameraState'];
  sent: number;
  dropped: number;
  spoolBytes: number;
  /** ms; null when the spool is empty. */
  spoolOldestAgeMs: number | null;
  /** Absent where the hardware does not report it. */
  socTempC?: number;
  /** Firmware flags active now (under-voltage, frequency-capped, throttled, soft-temp-limit); absent where not reported. */
  throttledNow?: string[];
  lastError: string | null;
}

export interface FleetOptions {
  maxAgents: number;
  /** ms without a status: offline. */
  offlineAfterMs: number;
  /** ms: oldest spooled frame older than this: spooling. */
  spoolingAfterMs: number;
  /** ms without a status: forgotten. */
  forgetAfterMs: number;
}

/** An alert episode: opens when its condition starts, closes when it clears; one alert per episode. */
export interface Episode {
  key: string;
  camera: string;
  kind: FleetAlertKind;
  /** The agent's run when the episode opened. */
  run: string;
  /** Epoch ms (agent clock): the `at` of the status that showed it first; offline: of the last status heard. */
  since: number;
  /** Published to the alerts topic (or found there): never again. */
  raised: boolean;
  /** Its condition cleared; kept until raised, and a new episode of the same kind replaces it. */
  ended?: boolean;
}

interface Entry {
  status: AgentStatus;
  /** Cloud clock, ms. */
  seenAt: number;
  /** Per condition reported by the statuses (spooling, throttled): the `at` of the first status showing it. */
  since: Partial<Record<FleetAlertKind, number>>;
}

export interface ObserveResult {
  accepted: boolean;
  /** The agent is new to this instance. */
  added?: boolean;
  /** The broker state of the agent's status before this one (undefined when new). */
  previousBroker?: AgentStatus['broker'];
}

export interface FleetState {
  /** Takes a status received at `seenAt` (cloud clock); refused (false) when maxAgents agents are known already. */
  observe(status: AgentStatus, seenAt: number): ObserveResult;
  /** A tombstone (or an operator) removes the agent. */
  remove(camera: string): void;
  /**
   * Forgets silent agents and updates the episodes; returns the open episodes not yet raised.
   * `hearingSince`: since when this instance could read the status topic without a break (silence before it is no evidence).
   */
  check(now: number, hearingSince?: number): Episode[];
  /** The fleet view, worst first, then by camera id. */
  view(now: number, hearingSince?: number): FleetAgentView[];
  /** The episode keys are published (or already on the topic). */
  markRaised(keys: Iterable<string>): void;
  /** Earliest `since` of the open episodes not yet raised; undefined when none. */
  oldestPending(): number | undefined;
  size(): number;
  latest(camera: string): AgentStatus | undefined;
}

/** Hex SHA-256 (first 32 digits) of the episode's identity: camera, the agent's run, kind and `since`; the same on every instance that read the same statuses. */
export function fleetAlertKey(camera: string, run: string, kind: FleetAlertKind, since: number): string {
  return createHash('sha256').update(JSON.stringify(['fleet', camera, run, kind, since])).digest('hex').slice(0, 32);
}

/** The firmware flags active now, decoded from the raw bits (the flags a producer sent are not trusted). */
export function throttledNow(status: AgentStatus): string[] | undefined {
  const raw = status.pi?.throttled?.raw;
  if (raw === undefined) return undefined;
  const t = decodeThrottled(raw);
  return [
    ...(t.underVoltageNow ? ['under-voltage'] : []),
    ...(t.frequencyCappedNow ? ['frequency-capped'] : []),
    ...(t.throttledNow ? ['throttled'] : []),
    ...(t.softTempLimitNow ? ['soft-temp-limit'] : []),
  ];
}

/** The conditions a status itself shows (offline is the absence of statuses). */
function statusConditions(s: AgentStatus, spoolingAfterMs: number): FleetAlertKind[] {
  const now = throttledNow(s) ?? [];
  return [
    ...((s.spool.oldestAgeMs ?? 0) > spoolingAfterMs ? ['agent-spooling' as const] : []),
    ...(now.includes('under-voltage') || now.includes('throttled') ? ['agent-throttled' as const] : []),
  ];
}

function describe(e: Entry, now: number, hearingSince: number, o: FleetOptions): { health: AgentHealth; reasons: string[] } {
  const s = e.status;
  const silent = now - Math.max(e.seenAt, hearingSince);
  if (silent > o.offlineAfterMs) return { health: 'offline', reasons: [`no status for ${Math.round(silent / 1000)} s`] };
  const failing: string[] = [];
  const degraded: string[] = [];
  const oldest = s.spool.oldestAgeMs ?? 0;
  if (oldest > o.spoolingAfterMs) failing.push(`spool ${Math.round(oldest / 1000)} s behind`);
  if (s.broker === 'dropping') failing.push('dropping frames');
  else if (s.broker !== 'connected') degraded.push(`broker ${s.broker}`);
  if (s.cameraState !== 'running') failing.push(`camera ${s.cameraState}`);
  const flags = throttledNow(s) ?? [];
  if (flags.includes('under-voltage') || flags.includes('throttled')) failing.push(flags.join(', '));
  else if (flags.length > 0) degraded.push(flags.join(', '));
  if (failing.length > 0) return { health: 'failing', reasons: [...failing, ...degraded] };
  if (degraded.length > 0) return { health: 'degraded', reasons: degraded };
  return { health: 'healthy', reasons: [] };
}

export function createFleetState(o: FleetOptions): FleetState {
  const agents = new Map<string, Entry>();
  const episodes = new Map<string, Episode>(); // `${camera}/${kind}`

  function open(camera: string, kind: FleetAlertKind, run: string, since: number): void {
    const id = `${camera}/${kind}`;
    if (episodes.has(id) && !episodes.get(id)!.ended) return;
    episodes.set(id, { key: fleetAlertKey(camera, run, kind, since), camera, kind, run, since, raised: false });
  }

  return {
    observe(status, seenAt) {
      let e = agents.get(status.camera);
      const added = !e;
      const previousBroker = e?.status.broker;
      if (!e) {
        if (agents.size >= o.maxAgents) return { accepted: false };
        e = { status, seenAt, since: {} };
        agents.set(status.camera, e);
      }
      e.status = status;
      e.seenAt = Math.max(e.seenAt, seenAt);
      const holds = statusConditions(status, o.spoolingAfterMs);
      for (const kind of ['agent-spooling', 'agent-throttled'] as const) {
        if (!holds.includes(kind)) {
          delete e.since[kind];
          const episode = episodes.get(`${status.camera}/${kind}`);
          if (episode) episode.ended = true;
        } else {
          open(status.camera, kind, status.run, (e.since[kind] ??= status.at));
        }
      }
      return { accepted: true, added, ...(previousBroker ? { previousBroker } : {}) };
    },
    remove(camera) {
      agents.delete(camera);
      for (const kind of ['agent-offline', 'agent-spooling', 'agent-throttled']) episodes.delete(`${camera}/${kind}`);
    },
    check(now, hearingSince = -Infinity) {
      for (const [camera, e] of agents) {
        if (now - e.seenAt > o.forgetAfterMs) {
          this.remove(camera);
          continue;
        }
        const offline = now - Math.max(e.seenAt, hearingSince) > o.offlineAfterMs;
        if (offline) open(camera, 'agent-offline', e.status.run, e.status.at);
        else episodes.delete(`${camera}/agent-offline`);
        // Spooling and throttled episodes open in observe(); one that ended before it could be raised
        // (short, or no instance held the alerts then) is still raised once, and let go after that.
        for (const kind of ['agent-spooling', 'agent-throttled'] as const) {
          if (e.since[kind] === undefined && episodes.get(`${camera}/${kind}`)?.raised) episodes.delete(`${camera}/${kind}`);
        }
      }
      return [...episodes.values()].filter((x) => !x.raised);
    },
    view(now, hearingSince = -Infinity) {
      const rows: FleetAgentView[] = [];
      for (const [camera, e] of agents) {
        const s = e.status;
        const flags = throttledNow(s);
        rows.push({
          camera, ...describe(e, now, hearingSince, o), run: s.run, version: s.version, lastSeenMs: Math.max(0, now - e.seenAt),
          uptimeSeconds: s.uptimeSeconds, captureFps: s.captureFps, broker: s.broker, cameraState: s.cameraState,
          sent: s.sent, dropped: Object.values(s.dropped).reduce((a, b) => a + b, 0),
          spoolBytes: s.spool.bytes, spoolOldestAgeMs: s.spool.oldestAgeMs,
          ...(s.pi?.socTempC !== undefined ? { socTempC: s.pi.socTempC } : {}),
          ...(flags ? { throttledNow: flags } : {}),
          lastError: s.lastError,
        });
      }
      return rows.sort((a, b) => HEALTH_RANK[a.health] - HEALTH_RANK[b.health] || a.camera.localeCompare(b.camera, 'en', { numeric: true }));
    },
    markRaised(keys) {
      const set = new Set(keys);
      for (const e of episodes.values()) if (set.has(e.key)) e.raised = true;
    },
    oldestPending() {
      const pending = [...episodes.values()].filter((e) => !e.raised).map((e) => e.since);
      return pending.length > 0 ? Math.min(...pending) : undefined;
    },
    size: () => agents.size,
    latest: (camera) => agents.get(camera)?.status,
  };
}
