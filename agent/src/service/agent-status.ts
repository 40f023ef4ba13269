// Takes the agent's status record (shared/src/record/agent-status.ts, the
// contract the cloud reads) from the stages' own counters: the broker and
// camera states in the fleet's words, drops by reason, the spool's depth and
// age, the last error in operator words, and the Pi's health when present.
import { AGENT_STATUS_SCHEMA, type AgentBrokerState, type AgentCameraState, type AgentStatus, type PiHealth } from '@frameline/shared';
import type { CameraStats } from '../camera/index.js';
import type { PipelineStats } from '../pipeline/index.js';
import type { DeliveryStatus } from '../delivery/index.js';
import { hasPiHealth } from './pi-health.js';

/** CameraStats plus the flag a camera source may set when frames arrive but nearly none decode. */
export type CameraStatsWithHealth = CameraStats & { broken?: boolean };

export interface StatusSources {
  camera: () => CameraStatsWithHealth;
  pipeline: () => PipelineStats;
  delivery: () => DeliveryStatus;
  /** Frames/s passed by the pipeline over the last status-line period. */
  captureFps: () => number;
  /** The latest Pi health reading ({} where the hardware offers none). */
  pi: () => PiHealth;
}

export interface StatusIdentity {
  camera: string;
  version: string;
  run: string;
  /** Epoch ms the agent started (for uptimeSeconds). */
  startedAt: number;
}

/**
 * The broker link in the fleet's words. `connecting` until the first
 * connection; then `connected`, or `catching-up` while spooled frames drain;
 * when the broker is away `spooling` (reliable) or `dropping` (live).
 */
export function brokerStateOf(d: DeliveryStatus, everConnected: boolean): AgentBrokerState {
  if (d.broker === 'connected') return d.spooled.frames > 0 || d.policy === 'spooling' ? 'catching-up' : 'connected';
  if (!everConnected) return 'connecting';
  return d.mode === 'reliable' ? 'spooling' : 'dropping';
}

/**
 * The camera in the fleet's words. `missing`: it never gave a frame and has
 * stalled or been restarted (not connected, not detected); `restarting`: it
 * was restarted after its last frame and none came since.
 */
export function cameraStateOf(c: CameraStatsWithHealth, restartsAtLastFrame: number): AgentCameraState {
  if (c.broken) return 'broken';
  if (c.lastFrameAt === null && (c.stalled || c.restarts > 0)) return 'missing';
  if (c.stalled) return 'stalled';
  if (c.restarts > restartsAtLastFrame) return 'restarting';
  return 'running';
}

/** The camera's trouble in operator words (fixed wording: a change of words is a state change); null when it runs. */
function cameraProblem(state: AgentCameraState): string | null {
  switch (state) {
    case 'missing':
      return 'the camera has given no frame since the agent started: check its cable and that "rpicam-hello --list-cameras" lists it';
    case 'stalled':
      return 'the camera stopped giving frames (camera.stallSeconds passed without one); the agent restarts it';
    case 'restarting':
      return 'the camera process ended and is being restarted; its log lines in the journal say why';
    case 'broken':
      return 'the camera gives frames that do not decode: check the camera and its cable';
    case 'running':
      return null;
  }
}

/** Drops since start by reason, camelCase as the contract asks; zero counts are left out. */
function droppedByReason(c: CameraStats, p: PipelineStats, d: DeliveryStatus): Record<string, number> {
  const all: Record<string, number> = {
    fpsCap: p.droppedByFps,
    motionGate: p.droppedByGate,
    pipelineBehind: p.droppedBehind,
    pipelineFailed: p.failed,
    tooManyPixels: p.droppedTooManyPixels,
    cameraQueue: c.droppedFrames,
    spoolEvicted: d.evicted,
    ...d.dropped,
  };
  return Object.fromEntries(Object.entries(all).filter(([, n]) => n > 0));
}

export interface StatusTaker {
  /** The status now. */
  take(now?: number): AgentStatus;
  /** What a state change is: broker state, camera state and last error. Cheap; polled often. */
  stateKey(): string;
}

export function createStatusTaker(id: StatusIdentity, sources: StatusSources): StatusTaker {
  let everConnected = false;
  let lastFrameSeen: number | null = null;
  let restartsAtLastFrame = 0;

  const states = () => {
    const d = sources.delivery();
    const c = sources.camera();
    if (d.broker === 'connected' || d.acked > 0) everConnected = true;
    if (c.lastFrameAt !== lastFrameSeen) {
      lastFrameSeen = c.lastFrameAt;
      restartsAtLastFrame = c.restarts;
    }
    const cameraState = cameraStateOf(c, restartsAtLastFrame);
    const lastError = cameraProblem(cameraState)
      ?? (d.spoolDiskFull ? 'the spool\'s disk is full: the oldest spooled frames are being evicted; free space or lower delivery.spool.maxBytes' : null)
      ?? d.lastError;
    return { d, c, broker: brokerStateOf(d, everConnected), cameraState, lastError: lastError === null ? null : lastError.slice(0, 512) };
  };

  return {
    take(now = Date.now()) {
      const { d, c, broker, cameraState, lastError } = states();
      const pi = sources.pi();
      return {
        schema: AGENT_STATUS_SCHEMA,
        camera: id.camera,
        version: id.version,
        run: id.run,
        at: now,
        uptimeSeconds: Math.max(0, Math.round((now - id.startedAt) / 1000)),
        captureFps: Math.round(sources.captureFps() * 100) / 100,
        sent: d.acked,
        dropped: droppedByReason(c, sources.pipeline(), d),
        spool: { frames: d.spooled.frames, bytes: d.spooled.bytes, oldestAgeMs: d.spooled.frames > 0 && d.spooled.oldestAt !== null ? Math.max(0, Math.round(now - d.spooled.oldestAt)) : null },
        broker,
        cameraState,
        lastError,
        ...(hasPiHealth(pi) ? { pi } : {}),
      };
    },
    stateKey() {
      const { broker, cameraState, lastError } = states();
      return `${broker}\n${cameraState}\n${lastError ?? ''}`;
    },
  };
}
