// Access to the service's HTTP server: security headers on every answer and,
// when an access token is configured (http.tokenFile), a 401 for every route
// except /healthz and for the WebSocket upgrade unless the request carries
// the token as `Authorization: Bearer <token>` or the session cookie that
// opening `/?token=<token>` sets. The cookie holds an HMAC of the token, not
// the token, so it stops working when the token file changes.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Secret } from '@frameline/shared';
import type { Guard } from './server.js';

export const COOKIE = 'frameline_session';
/** Routes a load balancer or liveness probe needs without the token. */
export const OPEN_PATHS: readonly string[] = ['/healthz'];

const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:", "connect-src 'self'",
  "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'",
].join('; ');

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export interface Access {
  /** Whether the request carries the token (always true without a configured token). */
  allows(req: IncomingMessage): boolean;
  /** The HTTP server guard: security headers, `/?token=` login, 401s. */
  guard: Guard;
}

const digest = (value: string) => createHash('sha256').update(value).digest();
const sameSecret = (a: string, b: string) => timingSafeEqual(digest(a), digest(b));

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

function unauthorized(res: ServerResponse): void {
  res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="frameline"', 'cache-control': 'no-store' })
    .end('401 unauthorized: open /?token=<access token> once in the browser, or send "Authorization: Bearer <access token>"\n');
}

/** `token` null: open access (the config allows that on loopback addresses only). */
export function createAccess(token: Secret | null): Access {
  const session = token ? createHmac('sha256', token.reveal()).update('frameline dashboard session').digest('base64url') : '';

  function allows(req: IncomingMessage): boolean {
    if (!token) return true;
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (bearer !== undefined && sameSecret(bearer.trim(), token.reveal())) return true;
    const cookie = cookieValue(req, COOKIE);
    return cookie !== undefined && sameSecret(cookie, session);
  }

  const guard: Guard = (req, res, url) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (!token || OPEN_PATHS.includes(url.pathname)) return false;
    const offered = url.searchParams.get('token');
    if (offered !== null && url.pathname === '/' && req.method === 'GET') {
      if (!sameSecret(offered, token.reveal())) {
        unauthorized(res);
        return true;
      }
      // Trade the token in the address bar for a cookie, and drop it from the
      // address (history, screenshots) with a redirect.
      res.writeHead(303, {
        location: '/',
        'set-cookie': `${COOKIE}=${session}; Path=/; HttpOnly; SameSite=Strict`,
        'cache-control': 'no-store',
      }).end();
      return true;
    }
    if (allows(req)) return false;
    unauthorized(res);
    return true;
  };

  return { allows, guard };
}
