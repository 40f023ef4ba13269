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

async function runAgent(mode: 'normal' | 'fail', seconds: number): Promise<HeardNotification[]> {
  const dir = mkdtempSync(join(tmpdir(), 'fl-watchdog-'));
  const socket = join(dir, 'notify.sock');
  const { child: listener, heard } = await listenNotifySocket(socket);
  const config = join(dir, 'agent.json');
  writeFileSync(config, JSON.stringify({
    camera: { source: 'rpicam', width: 160, height: 120, fps: 5, stallSeconds: 1 },
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
  await new Promise((r) => setTimeout(r, seconds * 1000));
  agent.kill('SIGTERM');
  await new Promise((r) => agent.once('exit', r));
  await new Promise((r) => setTimeout(r, 300));
  listener.kill();
  return heard;
}

test('while frames flow: READY once, then a watchdog ping every half period and a status line', { timeout: 60_000 }, async () => {
  const heard = await runAgent('normal', 9);
  assert.equal(heard.filter((h) => h.msg.includes('READY=1')).length, 1);
  const pings = heard.filter((h) => h.msg.includes('WATCHDOG=1'));
  assert.ok(pings.length >= 10, `${pings.length} pings in 9 s at a 500 ms interval`);
  assert.ok(heard.some((h) => /STATUS=[\d.]+ fps, sent 0, dropped \d+, spool [\d.]+(B|KiB|MiB) \(\d+ frames\), broker (down|connecting), spooling/.test(h.msg)),
    `a status line says the broker is down and frames are spooled:\n${heard.map((h) => h.msg).join('\n')}`);
  assert.ok(heard.some((h) => h.msg.includes('STOPPING=1')));
});

test('a dead camera: the pings stop after the grace period, so systemd restarts the agent', { timeout: 60_000 }, async () => {
  const heard = await runAgent('fail', 9);
  const ready = heard.find((h) => h.msg.includes('READY=1'));
  assert.ok(ready, 'READY=1 (the spool is open) even though the camera fails');
  const pings = heard.filter((h) => h.msg.includes('WATCHDOG=1'));
  const last = pings.at(-1)?.t ?? ready.t;
  // grace = stallSeconds (1) × 3 s; the run lasts 9 s
  assert.ok(last - ready.t < 5500, `last ping ${Math.round(last - ready.t)} ms after READY`);
  assert.ok(!heard.some((h) => h.msg.includes('WATCHDOG=1') && h.t > ready.t + 6000), 'no ping in the last seconds of the run');
});
