// The live view's state and per-client sending: the newest frame and pose per
// camera, rates and a live/stale/offline state, recent alerts. Each client is
// sent only the newest frame of each camera, and only while its socket keeps
// up; frames that a slow client could not take are skipped and counted, so
// the live view adds neither lag nor memory. Pure: no sockets, no timers.
import type { CameraState, CameraStatus, LiveAgent, LiveAlert, LiveClient, LiveFrame, LivePose, ServerMessage } from './live-protocol.js';
import { encodeFrameMessage } from './live-protocol.js';

export interface LiveSession {
  /** Sends a fresh snapshot and every camera's newest frame again (a tab became visible). */
  refresh(): void;
  close(): void;
  counts(): { framesSent: number; framesSkipped: number };
}

export interface HubCounts {
  clients: number;
  framesSent: number;
  /** Frames a client never got because a newer frame of the camera replaced them while it was busy. */
  framesSkipped: number;
  /** Clients closed for falling too far behind (queued bytes above maxQueuedBytes). */
  clientsDropped: number;
  /** Cameras not tracked because maxCameras were already. */
  camerasIgnored: number;
}

export interface LiveHub {
  frame(frame: LiveFrame, at?: number): void;
  pose(pose: LivePose, at?: number): void;
  alert(alert: LiveAlert): void;
  connect(client: LiveClient): LiveSession;
  status(now?: number): CameraStatus[];
  /** Sends every client the cameras' status; the caller runs it once a second. */
  tick(now?: number): void;
  counts(): HubCounts;
}

export interface HubOptions {
  /** Frame messages per client handed to the socket and not yet written; default 2. */
  maxInFlight?: number;
  /** No frame is sent while the client has more bytes than this queued; default 256 KiB. */
  maxBufferedBytes?: number;
  /** A client with more queued than this is closed (it can reconnect); default 8 MiB. */
  maxQueuedBytes?: number;
  /** Without a new frame for this long a camera is stale, then offline; defaults 3 s, 15 s. */
  staleAfterMs?: number;
  offlineAfterMs?: number;
  rateWindowMs?: number;
  maxCameras?: number;
  maxAlerts?: number;
  /** Bone list the page draws with (keypoint name pairs). */
  bones?: readonly (readonly [string, string])[];
  /** The fleet view, sent with every snapshot and tick; default none. */
  fleet?: () => LiveAgent[];
}

/**
 * Timestamped counts in a bounded ring. The rate is what arrived after the
 * oldest event in the trailing window, over the time since it: exact for a
 * steady stream, and falling towards 0 once events stop. A window holding a
 * single event (one result every few seconds on a busy host) reads as that
 * event over the window, a lower bound, never 0 while results still come.
 */
function createRate(windowMs: number, slots = 256) {
  const times = new Float64Array(slots);
  const counts = new Float64Array(slots);
  let next = 0;
  return {
    add(at: number, n = 1) {
      times[next] = at;
      counts[next] = n;
      next = (next + 1) % slots;
    },
    perSecond(now: number): number {
      let oldest = Infinity;
      let oldestCount = 0;
      let sum = 0;
      for (let i = 0; i < slots; i++) {
        if (counts[i]! <= 0 || times[i]! <= now - windowMs || times[i]! > now) continue;
        sum += counts[i]!;
        if (times[i]! < oldest) [oldest, oldestCount] = [times[i]!, counts[i]!];
      }
      if (sum === 0) return 0;
      if (sum === oldestCount || now <= oldest) return Math.round((sum / windowMs) * 10_000) / 10;
      return Math.round(((sum - oldestCount) / (now - oldest)) * 10_000) / 10;
    },
  };
}

interface CameraEntry {
  frame?: LiveFrame;
  frameAt: number;
  encoded?: Buffer;
  pose?: LivePose;
  captured: ReturnType<typeof createRate>;
  inferred: ReturnType<typeof createRate>;
  skippedRate: ReturnType<typeof createRate>;
  skipped: number;
}

interface Session {
  client: LiveClient;
  /** Cameras whose newest frame this client has not been sent yet, longest waiting first. */
  pending: Set<string>;
  inFlight: number;
  framesSent: number;
  framesSkipped: number;
  closed: boolean;
}

export function createLiveHub(options: HubOptions = {}): LiveHub {
  const maxInFlight = options.maxInFlight ?? 2;
  const maxBuffered = options.maxBufferedBytes ?? 256 * 1024;
  const maxQueued = options.maxQueuedBytes ?? 8 * 1024 * 1024;
  const staleAfter = options.staleAfterMs ?? 3000;
  const offlineAfter = options.offlineAfterMs ?? 15_000;
  const rateWindow = options.rateWindowMs ?? 5000;
  const maxCameras = options.maxCameras ?? 256;
  const maxAlerts = options.maxAlerts ?? 50;
  const bones = options.bones ?? [];
  const fleet = options.fleet ?? (() => []);
  const cameras = new Map<string, CameraEntry>();
  const sessions = new Set<Session>();
  let alerts: LiveAlert[] = [];
  const totals = { framesSent: 0, framesSkipped: 0, clientsDropped: 0, camerasIgnored: 0 };

  function entry(camera: string, at: number): CameraEntry | undefined {
    let e = cameras.get(camera);
    if (e) return e;
    if (cameras.size >= maxCameras) {
      totals.camerasIgnored++;
      return undefined;
    }
    e = { frameAt: at, captured: createRate(rateWindow), inferred: createRate(rateWindow), skippedRate: createRate(rateWindow), skipped: 0 };
    cameras.set(camera, e);
    return e;
  }

  function statusOf(camera: string, e: CameraEntry, now: number): CameraStatus {
    const since = e.frame ? now - e.frameAt : Infinity;
    const captureFps = e.captured.perSecond(now);
    const state: CameraState = since > offlineAfter ? 'offline' : since > staleAfter ? 'stale' : 'live';
    return {
      camera, state, captureFps, inferredFps: e.inferred.perSecond(now), skippedFps: e.skippedRate.perSecond(now), skipped: e.skipped,
      seq: e.frame?.seq ?? -1, capturedAt: e.frame?.capturedAt ?? 0, sinceFrameMs: Number.isFinite(since) ? since : -1,
      width: e.frame?.width ?? e.pose?.width ?? 0, height: e.frame?.height ?? e.pose?.height ?? 0, persons: e.pose?.persons.length ?? 0,
    };
  }

  function status(now = Date.now()): CameraStatus[] {
    return [...cameras].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })).map(([c, e]) => statusOf(c, e, now));
  }

  function drop(s: Session, reason: string): void {
    if (s.closed) return;
    s.closed = true;
    sessions.delete(s);
    totals.clientsDropped++;
    s.client.close(1013, reason);
  }

  /** Sends a JSON message unless the client is hopelessly behind, then it is closed instead. */
  function sendJson(s: Session, message: ServerMessage): void {
    if (s.closed) return;
    if (s.client.bufferedAmount() > maxQueued) return drop(s, 'client too slow; reconnect');
    s.client.send(JSON.stringify(message), () => pump(s));
  }

  function pump(s: Session): void {
    while (!s.closed && s.pending.size > 0 && s.inFlight < maxInFlight && s.client.bufferedAmount() <= maxBuffered) {
      const camera = s.pending.values().next().value as string;
      s.pending.delete(camera);
      const e = cameras.get(camera);
      if (!e?.frame) continue;
      e.encoded ??= encodeFrameMessage(e.frame);
      s.inFlight++;
      s.framesSent++;
      totals.framesSent++;
      s.client.send(e.encoded, () => {
        s.inFlight--;
        pump(s);
      });
    }
  }

  function snapshot(s: Session): void {
    sendJson(s, { type: 'snapshot', now: Date.now(), cameras: status(), alerts, bones, agents: fleet() });
    for (const [camera, e] of cameras) {
      if (e.pose) sendJson(s, { type: 'pose', pose: e.pose });
      if (e.frame) s.pending.add(camera);
    }
    pump(s);
  }

  return {
    frame(frame, at = Date.now()) {
      const e = entry(frame.camera, at);
      if (!e) return;
      e.frame = frame;
      e.frameAt = at;
      e.encoded = undefined;
      e.captured.add(at);
      for (const s of sessions) {
        if (s.pending.has(frame.camera)) {
          // The older frame still waiting for this client is replaced: it is never sent.
          s.framesSkipped++;
          totals.framesSkipped++;
        } else s.pending.add(frame.camera);
        pump(s);
      }
    },
    pose(pose, at = Date.now()) {
      const e = entry(pose.camera, at);
      if (!e) return;
      e.pose = pose;
      e.inferred.add(at);
      if (pose.skippedSince) {
        e.skipped += pose.skippedSince;
        e.skippedRate.add(at, pose.skippedSince);
      }
      for (const s of sessions) sendJson(s, { type: 'pose', pose });
    },
    alert(alert) {
      const at = alerts.findIndex((a) => a.key === alert.key);
      if (at >= 0) alerts[at] = alert;
      else alerts = [alert, ...alerts].slice(0, maxAlerts);
      for (const s of sessions) sendJson(s, { type: 'alert', alert });
    },
    connect(client) {
      const s: Session = { client, pending: new Set(), inFlight: 0, framesSent: 0, framesSkipped: 0, closed: false };
      sessions.add(s);
      snapshot(s);
      return {
        refresh: () => snapshot(s),
        close() {
          s.closed = true;
          sessions.delete(s);
        },
        counts: () => ({ framesSent: s.framesSent, framesSkipped: s.framesSkipped }),
      };
    },
    status,
    tick(now = Date.now()) {
      const cams = status(now);
      const agents = sessions.size > 0 ? fleet() : [];
      for (const s of sessions) {
        sendJson(s, { type: 'status', now, cameras: cams });
        sendJson(s, { type: 'fleet', now, agents });
        pump(s);
      }
    },
    counts: () => ({ clients: sessions.size, ...totals }),
  };
}
