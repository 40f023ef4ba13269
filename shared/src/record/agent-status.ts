// The agent status record: one small JSON value per agent on the compacted
// `video.agents` topic, keyed by camera id. The agent writes it every
// `status.intervalSeconds` and on every state change; the cloud keeps the
// latest per agent for its fleet view, per-agent gauges and fleet alerts.
// This module is the contract both sides share (documented in
// cloud/src/publish/AGENT-STATUS.md); parsing is strict because any producer
// with the agent's credentials can write here.
import { cameraIdProblem } from './camera-id.js';

export const AGENT_STATUS_SCHEMA = 1;

/** How the agent's link to the broker stands. `catching-up`: connected, spooled frames still draining. */
export type AgentBrokerState = 'connected' | 'spooling' | 'catching-up' | 'dropping' | 'connecting';
export const AGENT_BROKER_STATES: readonly AgentBrokerState[] = ['connected', 'spooling', 'catching-up', 'dropping', 'connecting'];

/** How the camera stands. `broken`: frames arrive but nearly all are undecodable. */
export type AgentCameraState = 'running' | 'stalled' | 'restarting' | 'missing' | 'broken';
export const AGENT_CAMERA_STATES: readonly AgentCameraState[] = ['running', 'stalled', 'restarting', 'missing', 'broken'];

/** The Pi's own health, from the files the Raspberry Pi kernel exposes. Absent fields: the hardware does not offer them. */
export interface PiHealth {
  /** SoC temperature in °C (from /sys/class/thermal/thermal_zone0/temp, millidegrees). */
  socTempC?: number;
  /** The firmware's throttled bits (get_throttled / hwmon), decoded. */
  throttled?: {
    /** The raw bit field as the firmware reports it (e.g. 0x50005). */
    raw: number;
    underVoltageNow: boolean;
    frequencyCappedNow: boolean;
    throttledNow: boolean;
    softTempLimitNow: boolean;
    underVoltageOccurred: boolean;
    frequencyCappedOccurred: boolean;
    throttledOccurred: boolean;
    softTempLimitOccurred: boolean;
  };
}

export interface AgentStatus {
  schema: typeof AGENT_STATUS_SCHEMA;
  /** Camera id, the record key too. */
  camera: string;
  /** The agent's package version. */
  version: string;
  /** This process's run id (fl-run of its frames): a new one means the agent restarted. */
  run: string;
  /** Wall-clock ms since epoch when this status was taken. */
  at: number;
  uptimeSeconds: number;
  /** Frames/s passed by the pipeline over the last status period. */
  captureFps: number;
  /** Frames acknowledged by the broker since start. */
  sent: number;
  /** Dropped frames since start, by reason (delivery reasons plus camera/pipeline ones). */
  dropped: Record<string, number>;
  spool: { frames: number; bytes: number; /** Age in ms of the oldest spooled frame; null when empty. */ oldestAgeMs: number | null };
  broker: AgentBrokerState;
  cameraState: AgentCameraState;
  /** The last error in operator words; null when none. */
  lastError: string | null;
  pi?: PiHealth;
}

/** Largest status record accepted (bytes): a status is a few hundred bytes. */
export const MAX_AGENT_STATUS_BYTES = 8192;

const finiteNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * Parses and validates one status record's value (UTF-8 JSON).
 * @returns the status, or a string saying what is wrong (for a log line or a counter); never throws.
 */
export function parseAgentStatus(value: Buffer | null): AgentStatus | string {
  if (!value) return 'empty value';
  if (value.length > MAX_AGENT_STATUS_BYTES) return `value of ${value.length} bytes is over ${MAX_AGENT_STATUS_BYTES}`;
  let raw: unknown;
  try {
    raw = JSON.parse(value.toString('utf8'));
  } catch {
    return 'value is not JSON';
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'value is not a JSON object';
  const s = raw as Record<string, unknown>;
  if (s.schema !== AGENT_STATUS_SCHEMA) return `schema ${JSON.stringify(s.schema)} is not ${AGENT_STATUS_SCHEMA}`;
  if (typeof s.camera !== 'string') return 'camera is missing';
  const idProblem = cameraIdProblem(s.camera);
  if (idProblem) return idProblem;
  if (typeof s.version !== 'string' || s.version.length > 64) return 'version is not a string of at most 64 characters';
  if (typeof s.run !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(s.run)) return 'run is not an id of at most 64 letters, digits or "-"';
  for (const k of ['at', 'uptimeSeconds', 'captureFps', 'sent'] as const) {
    if (!finiteNonNegative(s[k])) return `${k} is not a non-negative number`;
  }
  if (typeof s.dropped !== 'object' || s.dropped === null || Array.isArray(s.dropped)) return 'dropped is not an object';
  const dropped = Object.entries(s.dropped as Record<string, unknown>);
  if (dropped.length > 32 || dropped.some(([k, v]) => !/^[A-Za-z]{1,32}$/.test(k) || !finiteNonNegative(v))) return 'dropped is not at most 32 reason: count pairs';
  const spool = s.spool as Record<string, unknown> | undefined;
  if (typeof spool !== 'object' || spool === null || !finiteNonNegative(spool.frames) || !finiteNonNegative(spool.bytes)
    || !(spool.oldestAgeMs === null || finiteNonNegative(spool.oldestAgeMs))) return 'spool is not { frames, bytes, oldestAgeMs }';
  if (!AGENT_BROKER_STATES.includes(s.broker as AgentBrokerState)) return `broker is not one of ${AGENT_BROKER_STATES.join(', ')}`;
  if (!AGENT_CAMERA_STATES.includes(s.cameraState as AgentCameraState)) return `cameraState is not one of ${AGENT_CAMERA_STATES.join(', ')}`;
  if (!(s.lastError === null || (typeof s.lastError === 'string' && s.lastError.length <= 512))) return 'lastError is not null or a string of at most 512 characters';
  if (s.pi !== undefined) {
    const pi = s.pi as Record<string, unknown>;
    if (typeof pi !== 'object' || pi === null) return 'pi is not an object';
    if (pi.socTempC !== undefined && !(typeof pi.socTempC === 'number' && Number.isFinite(pi.socTempC))) return 'pi.socTempC is not a number';
    if (pi.throttled !== undefined) {
      const t = pi.throttled as Record<string, unknown>;
      if (typeof t !== 'object' || t === null || !Number.isInteger(t.raw)) return 'pi.throttled is not { raw, ...flags }';
    }
  }
  return s as unknown as AgentStatus;
}

/**
 * Decodes the firmware's throttled bit field (`vcgencmd get_throttled`, or the
 * `throttled` file of the Raspberry Pi's hwmon/firmware driver).
 * Bits: 0 under-voltage now, 1 ARM frequency capped now, 2 throttled now, 3 soft
 * temperature limit now; 16-19 the same "has occurred since boot".
 */
export function decodeThrottled(raw: number): NonNullable<PiHealth['throttled']> {
  const bit = (n: number) => (raw & (1 << n)) !== 0;
  return {
    raw,
    underVoltageNow: bit(0),
    frequencyCappedNow: bit(1),
    throttledNow: bit(2),
    softTempLimitNow: bit(3),
    underVoltageOccurred: bit(16),
    frequencyCappedOccurred: bit(17),
    throttledOccurred: bit(18),
    softTempLimitOccurred: bit(19),
  };
}
