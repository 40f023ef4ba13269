// The live dashboard's wiring: the hub fed from the ingest stage (every
// frame) and from published results (poses), its WebSocket endpoint, the
// page's static files and the access guard, all on the service's HTTP server.
import client from 'prom-client';
import type { Frame, Logger, Secret } from '@frameline/shared';
import type { Windows } from '../ingest/window.js';
import type { InferenceRecord } from '../publish/record.js';
import { BONES } from '../inference/draw.js';
import { createAccess } from './auth.js';
import { createLiveHub, type HubOptions, type LiveHub } from './live-hub.js';
import { staticFiles, webRoot } from './static.js';
import type { HttpServer } from './server.js';
import { createLiveSockets } from './ws.js';

export interface Dashboard {
  hub: LiveHub;
  /** Feeds the hub every frame the window accepts (not the replayed duplicates). */
  tapFrames<R>(windows: Windows<R>): Windows<R>;
  /** A result listener (CloudService.onResult): live results become poses on the overlay. */
  onResult(record: InferenceRecord): void;
  close(): void;
}

export interface DashboardOptions {
  http: HttpServer;
  /** http.tokenFile; null only on loopback addresses (the config enforces it). */
  token: Secret | null;
  logger: Logger;
  /** Where the live view's counters go (/metrics). */
  registry?: client.Registry;
  hub?: HubOptions;
}

function liveMetrics(registry: client.Registry, hub: LiveHub): void {
  const counter = (name: string, help: string, read: () => number) => new client.Counter({
    name, help, registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
  new client.Gauge({ name: 'frameline_live_clients', help: 'Dashboard tabs connected to /live', registers: [registry], collect() { this.set(hub.counts().clients); } });
  counter('frameline_live_frames_sent_total', 'Frames sent to dashboard tabs', () => hub.counts().framesSent);
  counter('frameline_live_frames_skipped_total', 'Frames a dashboard tab never got because a newer frame of the camera replaced them while it was busy', () => hub.counts().framesSkipped);
  counter('frameline_live_clients_dropped_total', 'Dashboard tabs closed for falling too far behind', () => hub.counts().clientsDropped);
}

const round = (v: number) => Math.round(v * 10) / 10;

export function createDashboard(options: DashboardOptions): Dashboard {
  const hub = createLiveHub({ bones: BONES, ...options.hub });
  const access = createAccess(options.token);
  const sockets = createLiveSockets({ hub, allows: access.allows, logger: options.logger });
  const files = staticFiles(webRoot());
  if (options.registry) liveMetrics(options.registry, hub);
  options.http.guard(access.guard);
  options.http.upgrade(sockets.upgrade);
  options.http.route('GET', '/', files.index);
  options.http.route('GET', '/static/*', files.asset);
  const ticker = setInterval(() => hub.tick(), 1000);
  ticker.unref();

  return {
    hub,
    tapFrames(windows) {
      return {
        ...windows,
        push(frame: Frame, ingestedAt: number) {
          const out = windows.push(frame, ingestedAt);
          if (!out.stale) hub.frame(frame, ingestedAt);
          return out;
        },
      };
    },
    onResult(record) {
      if (record.late) return; // backfill: history, not the live view
      hub.pose({
        camera: record.camera, seq: record.seq, capturedAt: record.capturedAt, inferredAt: record.inferredAt,
        width: record.frame.width, height: record.frame.height, skippedSince: record.skippedSince ?? 0,
        persons: record.persons.map((p) => ({
          box: p.box.map(round) as [number, number, number, number],
          score: round(p.score * 100) / 100,
          keypoints: p.keypoints.map((k) => ({ name: k.name, x: round(k.x), y: round(k.y), visibility: Math.round(k.visibility * 100) / 100 })),
        })),
      });
    },
    close() {
      clearInterval(ticker);
      sockets.close();
    },
  };
}
