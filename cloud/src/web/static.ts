// The dashboard's static files (cloud/web/), read once at start into an
// allowlist by name. A request is answered only when its path names one of
// them exactly; no path is ever built from the URL, so no traversal.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RouteHandler } from './server.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  body: Buffer;
  type: string;
}

/** cloud/web, found from this module upwards (src/ or dist/src/ alike). */
export function webRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return join(dir, 'web');
  }
  throw new Error(`no package.json above ${from}: cannot find the dashboard's web/ folder`);
}

/** Serves `/` as index.html and `/static/<name>` for each file directly in `dir`. */
export function staticFiles(dir: string): { index: RouteHandler; asset: RouteHandler; names: string[] } {
  const assets = new Map<string, Asset>();
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const type = TYPES[extname(name.name)];
    if (name.isFile() && type) assets.set(name.name, { body: readFileSync(join(dir, name.name)), type });
  }
  const send = (res: Parameters<RouteHandler>[1], asset: Asset | undefined, head: boolean) => {
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': asset.type, 'content-length': asset.body.length, 'cache-control': 'no-cache' });
    res.end(head ? undefined : asset.body);
  };
  return {
    names: [...assets.keys()],
    index: (req, res) => send(res, assets.get('index.html'), req.method === 'HEAD'),
    asset: (req, res, url) => send(res, assets.get(url.pathname.slice('/static/'.length)), req.method === 'HEAD'),
  };
}
