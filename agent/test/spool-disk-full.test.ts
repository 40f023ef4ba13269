// The spool's disk fills up (a 3 MiB tmpfs this test mounts; needs root):
// a reliable agent with no broker keeps capturing, evicts the oldest spool
// segments to make room for new frames, counts them, and says so in its
// systemd status line and its log. It keeps running and stops cleanly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { listenNotifySocket } from './fixtures/helpers.js';

const run = promisify(execFile);
const BIN = fileURLToPath(new URL('../../bin/frameline-agent.js', import.meta.url));
const CAMERA = 'CAMERA-5';

test('spool disk full: the oldest segments are evicted and counted; the agent keeps running and says so', { timeout: 120_000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('mounting a tmpfs needs root');
  const dir = await mkdtemp(join(tmpdir(), 'fl-diskfull-'));
  const stateDir = join(dir, 'state');
  await mkdir(stateDir);
  await run('mount', ['-t', 'tmpfs', '-o', 'size=3m', 'frameline-test', stateDir]);
  const { child: listener, heard } = await listenNotifySocket(join(dir, 'notify.sock'));
  try {
    const config = join(dir, 'agent.json');
    await writeFile(config, JSON.stringify({
      // Noisy 640x480 frames at 25 fps fill 3 MiB within seconds.
      camera: { id: CAMERA, source: 'synthetic', width: 640, height: 480, fps: 25, synthetic: { quality: 95 } },
      kafka: { brokers: ['127.0.0.1:1'], security: 'plaintext' },
      // The byte limit (1 GiB) is far beyond the disk: only the full disk stops the spool.
      delivery: { mode: 'reliable', spool: { segmentBytes: 256 * 1024, fsync: 'interval' } },
      stateDir,
    }));
    const agent = spawn(process.execPath, [BIN, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NOTIFY_SOCKET: join(dir, 'notify.sock') } });
    let log = '';
    agent.stdout.on('data', (b: Buffer) => (log += b.toString()));
    agent.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((resolve) => agent.once('exit', resolve));
    const deadline = Date.now() + 60_000;
    // Two status periods (5 s) after the first eviction, so a status line reports it.
    let firstEviction: number | undefined;
    while (Date.now() < deadline && agent.exitCode === null) {
      if (firstEviction === undefined && /spool disk full/.test(log)) firstEviction = Date.now();
      if (firstEviction !== undefined && Date.now() - firstEviction > 11_000) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(agent.exitCode, null, `the agent keeps running with a full disk:\n${log.slice(-3000)}`);
    const spoolFiles = (await readdir(join(stateDir, 'spool', CAMERA))).filter((n) => n.endsWith('.seg'));
    agent.kill('SIGTERM');
    assert.equal(await exited, 0, `exits 0 on SIGTERM:\n${log.slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 300));

    const evictions = log.split('\n').filter((l) => /spool disk full \(ENOSPC\): evicted the oldest segment/.test(l));
    const statuses = heard.map((h) => h.msg).filter((m) => m.startsWith('STATUS='));
    const full = statuses.filter((m) => m.includes('SPOOL DISK FULL'));
    const dropped = Number(/\[agent\] stopped .*dropped=(\d+)/.exec(log)?.[1] ?? NaN);
    const evictedFrames = evictions.reduce((n, l) => n + Number(/frames=(\d+)/.exec(l)?.[1] ?? 0), 0);
    console.log(`# disk full: ${evictions.length} segments (${evictedFrames} frames) evicted for space, ${spoolFiles.length} segments on the 3 MiB disk, ` +
      `${dropped} frames dropped in all, ${full.length} of ${statuses.length} status lines say the disk is full`);
    assert.ok(evictions.length >= 2, `oldest segments evicted for space and logged:\n${log.slice(-3000)}`);
    assert.ok(evictedFrames > 0 && dropped >= evictedFrames, `evicted frames are counted as dropped (${dropped} >= ${evictedFrames})`);
    assert.ok(full.length > 0, `a status line says the disk is full:\n${statuses.join('\n')}`);
    assert.ok(spoolFiles.length > 0, 'the newest frames are still spooled');
  } finally {
    listener.kill();
    await run('umount', [stateDir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
});
