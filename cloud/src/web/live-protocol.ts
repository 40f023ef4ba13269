// What travels between the cloud service and the dashboard page over /live:
// JSON messages for state, poses and alerts, and binary frame messages. The
// page (cloud/web/dashboard.js) reads exactly these; see README.md here.
import type { Frame } from '@frameline/shared';
import type { Keypoint } from '../inference/types.js';
import type { FleetAgentView } from '../fleet/state.js';

/** One agent's row in the fleet view (the cloud's fleet state, cloud/src/fleet/state.ts). */
export type LiveAgent = FleetAgentView;

/** A frame as the ingest stage took it (capturedAt on the camera's clock). */
export type LiveFrame = Pick<Frame, 'camera' | 'run' | 'seq' | 'capturedAt' | 'width' | 'height' | 'jpeg'>;

export interface LivePerson {
  /** [x, y, width, height] in frame pixels. */
  box: [number, number, number, number];
  score: number;
  keypoints: Keypoint[];
}

/** One inference result, reduced to what the overlay draws. */
export interface LivePose {
  camera: string;
  seq: number;
  capturedAt: number;
  inferredAt: number;
  width: number;
  height: number;
  persons: LivePerson[];
  /** Frames of this camera skipped by the scheduler since its previous result. */
  skippedSince?: number;
}

/**
 * An alert as the live list shows it. Records from `video.alerts` map onto it
 * one to one; the same `key` again updates the entry (an event that ended).
 */
export interface LiveAlert {
  key: string;
  camera: string;
  /** fall | fight | zone | a model's own kind. */
  kind: string;
  score: number;
  /** Epoch ms, capture time of the first frame of the event. */
  startedAt: number;
  endedAt?: number;
  track?: string | number;
  seqs?: number[];
  /** Small JPEG with the skeletons drawn, base64. */
  snapshot?: string;
}

export type CameraState = 'live' | 'stale' | 'offline';

export interface CameraStatus {
  camera: string;
  state: CameraState;
  /** Frames per second over the last rateWindowMs: consumed, inferred, skipped by the scheduler. */
  captureFps: number;
  inferredFps: number;
  skippedFps: number;
  /** Frames the scheduler skipped since this hub started. */
  skipped: number;
  /** Newest frame: its seq, capture time (camera clock) and ms since it was consumed. */
  seq: number;
  capturedAt: number;
  sinceFrameMs: number;
  width: number;
  height: number;
  persons: number;
}

/** JSON messages to the browser; frames travel as binary messages (see encodeFrameMessage). */
export type ServerMessage =
  | { type: 'snapshot'; now: number; cameras: CameraStatus[]; alerts: LiveAlert[]; bones: readonly (readonly [string, string])[]; agents: LiveAgent[] }
  | { type: 'fleet'; now: number; agents: LiveAgent[] }
  | { type: 'status'; now: number; cameras: CameraStatus[] }
  | { type: 'pose'; pose: LivePose }
  | { type: 'alert'; alert: LiveAlert };

/** A connected browser as the hub sees it (the WebSocket adapter implements it). */
export interface LiveClient {
  /** Queues one message; `done` runs once it is handed to the OS (or failed). */
  send(data: string | Buffer, done: (err?: Error) => void): void;
  /** Bytes queued in the socket and not yet written. */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

/** Binary frame message: u32 big-endian header length, the header as UTF-8 JSON, then the JPEG. */
export function encodeFrameMessage(frame: LiveFrame): Buffer {
  const header = Buffer.from(JSON.stringify({ type: 'frame', camera: frame.camera, seq: frame.seq, capturedAt: frame.capturedAt, width: frame.width, height: frame.height }));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(header.length);
  return Buffer.concat([length, header, frame.jpeg]);
}
