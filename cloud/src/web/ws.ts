// The live view's WebSocket endpoint (/live): one socket per browser tab,
// accepted only with access (see auth.ts) and from the page's own origin,
// and bounded in number. Browser messages are tiny requests; frames and
// state go the other way through the hub.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '@frameline/shared';
import type { LiveHub } from './live-hub.js';
import type { LiveClient } from './live-protocol.js';
import type { UpgradeHandler } from './server.js';

export const LIVE_PATH = '/live';

export interface LiveSockets {
  upgrade: UpgradeHandler;
  clients(): number;
  close(): void;
}

export interface LiveSocketOptions {
  hub: LiveHub;
  allows(req: IncomingMessage): boolean;
  logger: Logger;
  /** Open sockets at most; further upgrades get 503. Default 64. */
  maxClients?: number;
  /** Ping interval; a socket that missed a pong by the next one is dropped. Default 15 s. */
  pingMs?: number;
}

function refuse(socket: Socket, status: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Browsers always send Origin on a WebSocket; it must be the page's own host. */
function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true; // not a browser: the token decides
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

function adapt(ws: WebSocket): LiveClient {
  return {
    send: (data, done) => ws.send(data, { binary: typeof data !== 'string' }, done),
    bufferedAmount: () => ws.bufferedAmount,
    close: (code, reason) => ws.close(code, reason),
  };
}

export function createLiveSockets(options: LiveSocketOptions): LiveSockets {
  const log = options.logger.child('live');
  const maxClients = options.maxClients ?? 64;
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024, perMessageDeflate: false });
  const alive = new WeakMap<WebSocket, boolean>();
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (alive.get(ws) === false) {
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, options.pingMs ?? 15_000);
  pinger.unref();

  function accept(ws: WebSocket): void {
    const session = options.hub.connect(adapt(ws));
    alive.set(ws, true);
    ws.on('pong', () => alive.set(ws, true));
    ws.on('message', (data, binary) => {
      // The page asks for a fresh snapshot when its tab becomes visible again.
      if (!binary && data.toString() === '{"type":"snapshot"}') session.refresh();
    });
    ws.on('error', (err) => log.debug('live socket error', { error: err }));
    ws.on('close', () => {
      session.close();
      log.debug('live view closed', session.counts());
    });
  }

  return {
    upgrade(req, socket, head) {
      const path = new URL(req.url ?? '/', 'http://localhost').pathname;
      if (path !== LIVE_PATH) return refuse(socket, '404 Not Found');
      if (!options.allows(req)) return refuse(socket, '401 Unauthorized');
      if (!sameOrigin(req)) return refuse(socket, '403 Forbidden');
      if (wss.clients.size >= maxClients) return refuse(socket, '503 Service Unavailable');
      wss.handleUpgrade(req, socket, head, accept);
    },
    clients: () => wss.clients.size,
    close() {
      clearInterval(pinger);
      for (const ws of wss.clients) ws.terminate();
      wss.close();
    },
  };
}
