// The agent under a real notify socket, as systemd runs it (Type=notify,
// WatchdogSec=): READY, STATUS and WATCHDOG pings while frames flow; no more
// pings once the camera is dead, so systemd restarts the service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listenNotifySocket, type HeardNotification } from './fixtures/helpers.js';

const BIN = fileURLToPath(new URL('../../bin/frameline-agent.js', import.meta.url));
const FAKE_BIN = fileURLToPath(new URL('../../test/fixtures/bin', import.meta.url));

/**
 * Runs the agent until `done(heard)` holds (checked every 200 ms) or `deadlineMs` passes,
 * so a loaded machine makes the test slower, not wrong.
 */
async function runAgent(mode: 'normal' | 'fail', done: (heard: HeardNotification[]) => boolean, deadlineMs = 50_000): Promise<HeardNotification[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fl-watchdog-'));
  const socket = join(dir, 'notify.sock');
  const { child: listener, heard } = await listenNotifySocket(socket);
  const config = join(dir, 'agent.json');
  writeFileSync(config, JSON.stringify({
    // A dead camera is called dead after stallSeconds; a live one may take seconds to start on a loaded machine.
    camera: { source: 'rpicam', width: 160, height: 120, fps: 5, stallSeconds: mode === 'fail' ? 1 : 10 },
    // No broker at all: reliable mode is READY once its spool is open.
    kafka: { brokers: ['127.0.0.1:1'], security: 'plaintext' },
    stateDir: join(dir, 'state'),
    log: { level: 'warn' },
  }));
  const agent = spawn(process.execPath, [BIN, 'run', '--config', config], {
    stdio: 'ignore',
    env: {
      ...process.env, NOTIFY_SOCKET: socket, WATCHDOG_USEC: '1000000', FAKE_CAMERA_MODE: mode,
      // the stand-in camera first, and node and systemd-notify still found
      PATH: [FAKE_BIN, dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    },
  });
  const until = Date.now() + deadlineMs;
  while (!done(heard) && Date.now() < until && agent.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await new Promise((r) => setTimeout(r, 300));
  listener.kill();
  return heard;
}

const pingsIn = (heard: HeardNotification[]) => heard.filter((h) => h.msg.includes('WATCHDOG=1'));
const SPOOLING_STATUS = /STATUS=[\d.]+ fps, sent 0, dropped \d+, spool [\d.]+(B|KiB|MiB) \(\d+ frames\), broker (down|connecting), spooling/;

test('while frames flow: READY once, then watchdog pings keep coming, and a status line', { timeout: 90_000 }, async () => {
  const heard = await runAgent('normal', (h) => pingsIn(h).length >= 10 && h.some((x) => SPOOLING_STATUS.test(x.msg)));
  assert.equal(heard.filter((h) => h.msg.includes('READY=1')).length, 1);
  assert.ok(pingsIn(heard).length >= 10, `${pingsIn(heard).length} pings before the deadline`);
  assert.ok(heard.some((h) => SPOOLING_STATUS.test(h.msg)),
    `a status line says the broker is down and frames are spooled:\n${heard.map((h) => h.msg).join('\n')}`);
  assert.ok(heard.some((h) => h.msg.includes('STOPPING=1')));
});

test('a dead camera: the pings stop after the grace period, so systemd restarts the agent', { timeout: 90_000 }, async () => {
  // Done once READY came and then 8 s passed without a ping (the grace is stallSeconds (1) × 3 s).
  const silentFor = (h: HeardNotification[]) => {
    const ready = h.find((x) => x.msg.includes('READY=1'));
    return ready ? Date.now() - (pingsIn(h).at(-1)?.t ?? ready.t) : 0;
  };
  const heard = await runAgent('fail', (h) => silentFor(h) > 8000);
  const ready = heard.find((h) => h.msg.includes('READY=1'));
  assert.ok(ready, 'READY=1 (the spool is open) even though the camera fails');
  const pings = pingsIn(heard);
  assert.ok(silentFor(heard) > 8000, `the pings never stopped: ${pings.length} pings, the last ${Math.round(Date.now() - (pings.at(-1)?.t ?? 0))} ms ago`);
});
