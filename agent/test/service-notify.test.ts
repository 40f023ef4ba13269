// systemd notifications reach a real $NOTIFY_SOCKET through the real
// systemd-notify(1) binary. The socket here is a unix datagram socket held
// by a small Python listener (fixtures/helpers.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '@frameline/shared';
import { createNotifier } from '../src/service/notify.js';
import { listenNotifySocket } from './fixtures/helpers.js';

const logger = createLogger({ level: 'error' });

test('without NOTIFY_SOCKET every notification is a no-op', async () => {
  const n = createNotifier({}, logger);
  assert.equal(n.enabled, false);
  assert.equal(n.watchdogIntervalMs, 0);
  n.ready('x');
  n.watchdog();
  await n.flush();
});

test('READY, STATUS, WATCHDOG and STOPPING reach the notify socket, with our pid', async (t) => {
  const socket = join(mkdtempSync(join(tmpdir(), 'fl-notify-')), 'notify.sock');
  const { child, heard } = await listenNotifySocket(socket);
  t.after(() => child.kill());
  const n = createNotifier({ NOTIFY_SOCKET: socket, WATCHDOG_USEC: '20000000' }, logger);
  assert.equal(n.enabled, true);
  assert.equal(n.watchdogIntervalMs, 10_000, 'pings at half the watchdog timeout');
  n.ready('12.0 fps, sent 0');
  n.status('14.9 fps, sent 100, broker connected');
  n.watchdog();
  n.stopping('stopping: SIGTERM');
  await n.flush();
  await new Promise((r) => setTimeout(r, 200));
  const all = heard.map((h) => h.msg).join('\n');
  assert.match(all, /READY=1\|STATUS=12\.0 fps, sent 0/);
  assert.match(all, /STATUS=14\.9 fps, sent 100, broker connected/);
  assert.match(all, new RegExp(`MAINPID=${process.pid}\\|WATCHDOG=1`));
  assert.match(all, /STOPPING=1\|STATUS=stopping: SIGTERM/);
  // order is kept: ready before stopping
  assert.ok(all.indexOf('READY=1') < all.indexOf('STOPPING=1'));
});

test('a burst of status updates is coalesced instead of queued', async (t) => {
  const socket = join(mkdtempSync(join(tmpdir(), 'fl-notify-')), 'notify.sock');
  const { child, heard } = await listenNotifySocket(socket);
  t.after(() => child.kill());
  const n = createNotifier({ NOTIFY_SOCKET: socket }, logger);
  n.watchdog(); // keeps the chain busy while the statuses arrive
  for (let i = 0; i < 200; i++) n.status(`status ${i}`);
  await n.flush();
  await new Promise((r) => setTimeout(r, 200));
  const statuses = heard.map((h) => h.msg).filter((m) => m.includes('STATUS=status'));
  assert.ok(statuses.length <= 3, `${statuses.length} status messages sent for 200 updates`);
  assert.match(statuses.at(-1)!, /STATUS=status 199/, 'the newest status wins');
});
