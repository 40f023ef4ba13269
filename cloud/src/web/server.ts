// The service's small HTTP server: /metrics and /healthz now, the dashboard
// later (it adds its routes with route()). Bound to localhost by default.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { splitHostPort, type Logger } from '@frameline/shared';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;
/** Runs before routing; returns true when it has answered the request itself (e.g. 401). */
export type Guard = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean;
export type UpgradeHandler = (req: IncomingMessage, socket: Socket, head: Buffer) => void;

export interface HttpServer {
  /** Adds a route: exact path, or a prefix when the path ends in '/*'. */
  route(method: string, path: string, handler: RouteHandler): void;
  /** Adds a guard that sees every request first (access control, security headers). */
  guard(guard: Guard): void;
  /** Takes HTTP upgrade requests (WebSocket); without one they are refused. */
  upgrade(handler: UpgradeHandler): void;
  start(): Promise<{ host: string; port: number }>;
  address(): { host: string; port: number } | undefined;
  close(): Promise<void>;
}

export function createHttpServer(listen: string, logger: Logger): HttpServer {
  const log = logger.child('http');
  const routes: { method: string; path: string; prefix: boolean; handler: RouteHandler }[] = [];
  const guards: Guard[] = [];
  let onUpgrade: UpgradeHandler = (_req, socket) => void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
  const { host, port } = splitHostPort(listen);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (guards.some((g) => g(req, res, url))) return;
    const match = routes.find((r) => (r.method === req.method || (r.method === 'GET' && req.method === 'HEAD')) && (r.prefix ? url.pathname.startsWith(r.path) : url.pathname === r.path));
    if (!match) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    Promise.resolve(match.handler(req, res, url)).catch((err: Error) => {
      log.error('request failed', { path: url.pathname, error: err });
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error\n');
    });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => onUpgrade(req, socket, head));

  return {
    guard: (g) => void guards.push(g),
    upgrade: (h) => void (onUpgrade = h),
    route(method, path, handler) {
      const prefix = path.endsWith('/*');
      routes.push({ method: method.toUpperCase(), path: prefix ? path.slice(0, -1) : path, prefix, handler });
    },
    start() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          log.info('listening', { url: `http://${listen.startsWith('[') ? `[${a.address}]` : a.address}:${a.port}/` });
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    address() {
      const a = server.address() as AddressInfo | null;
      return a ? { host: a.address, port: a.port } : undefined;
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
