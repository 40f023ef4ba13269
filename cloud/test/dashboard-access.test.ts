// Access to the dashboard: with a token configured, every route but /healthz
// and the live WebSocket answer 401 without it; the token works as a Bearer
// header or as the cookie that /?token= sets; every answer carries the
// security headers; static files cannot be left through encoded ../ paths;
// and a service bound to a non-loopback address without a token refuses to
// start (exit 78, naming http.tokenFile and the file).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { Secret, createLogger } from '@frameline/shared';
import { REPO_ROOT } from '@frameline/shared/testing';
import { loadCloudConfig } from '../src/config.js';
import { createDashboard } from '../src/web/dashboard.js';
import { createHttpServer } from '../src/web/server.js';

const logger = createLogger({ level: 'error', scope: 'test' });
const TOKEN = 'test-token-4f9c2a';

/** A raw GET: the path goes out exactly as written (fetch would normalise ../). */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens /live; resolves with the HTTP status of a refusal, or 101 and the first message. */
function openLive(port: number, headers: Record<string, string> = {}): Promise<{ status: number; first?: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/live`, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode! });
      ws.terminate();
    });
    ws.once('message', (data) => {
      resolve({ status: 101, first: data.toString() });
      ws.close();
    });
    ws.once('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

async function startDashboard(token: Secret | null) {
  const http = createHttpServer('127.0.0.1:0', logger);
  http.route('GET', '/healthz', (_req, res) => void res.writeHead(200).end('ok\n'));
  http.route('GET', '/metrics', (_req, res) => void res.writeHead(200).end('# metrics\n'));
  const dashboard = createDashboard({ http, token, logger });
  const { port } = await http.start();
  return { port, dashboard, close: async () => { dashboard.close(); await http.close(); } };
}

test('with a token: 401 on every route but /healthz and on the WebSocket, unless the token comes as Bearer or cookie', async (t) => {
  const d = await startDashboard(new Secret(TOKEN, 'test'));
  t.after(d.close);
  for (const path of ['/', '/static/dashboard.js', '/metrics', '/nope', '/?token=wrong']) {
    const r = await get(d.port, path);
    assert.equal(r.status, 401, `${path} without the token`);
    assert.match(r.body, /\?token=/, 'the 401 says how to get in');
  }
  assert.equal((await get(d.port, '/', { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await get(d.port, '/healthz')).status, 200, '/healthz stays open for probes');
  assert.equal((await openLive(d.port)).status, 401, 'WebSocket without the token');
  assert.equal((await openLive(d.port, { cookie: 'frameline_session=forged' })).status, 401, 'WebSocket with a forged cookie');

  const bearer = { authorization: `Bearer ${TOKEN}` };
  const page = await get(d.port, '/', bearer);
  assert.equal(page.status, 200);
  assert.match(page.body, /<script type="module" src="\/static\/dashboard.js">/);
  assert.equal((await get(d.port, '/metrics', bearer)).status, 200, '/metrics needs the token too (Prometheus: credentials_file)');
  const live = await openLive(d.port, bearer);
  assert.equal(live.status, 101);
  assert.equal((JSON.parse(live.first!) as { type: string }).type, 'snapshot');

  // Opening /?token= once trades the token for a cookie and removes it from the address.
  const login = await get(d.port, `/?token=${TOKEN}`);
  assert.equal(login.status, 303);
  assert.equal(login.headers.location, '/');
  const setCookie = String(login.headers['set-cookie']);
  assert.match(setCookie, /HttpOnly/);
  assert.match(setCookie, /SameSite=Strict/);
  assert.ok(!setCookie.includes(TOKEN), 'the cookie is not the token itself');
  const cookie = setCookie.split(';')[0]!;
  assert.equal((await get(d.port, '/', { cookie })).status, 200);
  assert.equal((await openLive(d.port, { cookie, origin: `http://127.0.0.1:${d.port}` })).status, 101, 'the page\'s own WebSocket');
  assert.equal((await openLive(d.port, { cookie, origin: 'http://evil.example' })).status, 403, 'another site cannot ride the cookie');
});

test('every answer carries the security headers', async (t) => {
  const d = await startDashboard(null);
  t.after(d.close);
  for (const path of ['/', '/static/dashboard.css', '/healthz', '/missing']) {
    const r = await get(d.port, path);
    assert.match(String(r.headers['content-security-policy']), /default-src 'none'.*frame-ancestors 'none'/, path);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', path);
    assert.equal(r.headers['x-frame-options'], 'DENY', path);
    assert.equal(r.headers['referrer-policy'], 'no-referrer', path);
  }
  const js = await get(d.port, '/static/dashboard.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal((await openLive(d.port)).status, 101, 'without a configured token (loopback only) the live view is open');
});

test('no path traversal through the static files, however the ../ is encoded', async (t) => {
  const d = await startDashboard(new Secret(TOKEN, 'test'));
  t.after(d.close);
  const auth = { authorization: `Bearer ${TOKEN}` };
  const attempts = [
    '/static/../package.json', '/static/%2e%2e/package.json', '/static/%2E%2E%2Fpackage.json', '/static/..%2f..%2fpackage.json',
    '/static/..%2F..%2F..%2Fpackage.json', '/static/%252e%252e%252fpackage.json', '/static/..%5c..%5cpackage.json', '/static/..\\..\\package.json',
    '/static/%2fetc%2fpasswd', '/static//etc/passwd', '//etc/passwd', '/static/./../src/config.ts', '/static/dashboard.js%00.html',
    '/static/', '/static/.', '/static/..', '/%2e%2e/%2e%2e/package.json', '/static/../../../../../../etc/passwd',
  ];
  for (const path of attempts) {
    const r = await get(d.port, path, auth);
    // '/static/..' resolves to '/', the dashboard page itself: allowed, it is not outside.
    const ownPage = r.status === 200 && r.body.includes('<title>frameline live</title>');
    assert.ok(r.status === 404 || r.status === 400 || ownPage, `${path}: ${r.status}`);
    assert.doesNotMatch(r.body, /@frameline|root:|convict/, `${path} leaks nothing`);
  }
});

test('a non-loopback http.listen without http.tokenFile refuses to start: exit 78 naming the key and the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-dash-'));
  writeFileSync(join(dir, 'pw'), 'pw');
  const file = join(dir, 'cloud.json');
  writeFileSync(file, JSON.stringify({ kafka: { passwordFile: 'pw' }, http: { listen: '0.0.0.0:8080' } }));
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'cloud/bin/frameline-cloud.js'), 'run', '--config', file], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  assert.match(r.stderr, /http\.tokenFile: http\.listen "0\.0\.0\.0:8080" is reachable from other hosts/);

  // With the token file it is accepted, and the token never prints.
  writeFileSync(join(dir, 'dashboard.token'), `${TOKEN}\n`);
  const c = loadCloudConfig({ file, env: {}, overrides: { http: { tokenFile: 'dashboard.token' } } });
  assert.equal(c.http.tokenFile?.reveal(), TOKEN);
  assert.ok(!JSON.stringify(c).includes(TOKEN));
  for (const listen of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080']) {
    assert.equal(loadCloudConfig({ env: {}, overrides: { kafka: { security: 'plaintext' }, http: { listen } } }).http.tokenFile, null, `${listen} needs no token`);
  }
});
