// Secrets never leave their file: not in log lines (at debug level, where
// kafkajs logs the most), not in `check-config` output, not on /metrics, not
// in any process's arguments, and not in the environment of the camera
// process the agent spawns. Real agent and cloud bins against the real
// broker; the password comes through systemd's $CREDENTIALS_DIRECTORY.
// Cost: about 20-40 s.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, freePort, sharedBroker, type TestBroker } from '@frameline/shared/testing';
import type { TopicSet } from '@frameline/shared';
import { cloudConfigFile, startCloud } from './cloud-process.js';

const run = promisify(execFile);
const AGENT_BIN = join(REPO_ROOT, 'agent/bin/frameline-agent.js');
const FAKE_RPICAM = join(REPO_ROOT, 'agent/test/fixtures/bin/rpicam-vid');
let broker: TestBroker;
let topics: TopicSet;
const dir = mkdtempSync(join(tmpdir(), 'fl-secrets-'));
const creds = join(dir, 'credentials');

const secretOf = (user: 'agent' | 'cloud') => readFileSync(broker.props[`sasl.${user}.password.file`]!, 'utf8').trim();

before(async () => {
  broker = await sharedBroker();
  topics = await broker.topics('secrets', 1);
  mkdirSync(creds, { mode: 0o700 });
  writeFileSync(join(creds, 'kafka-password'), `${secretOf('agent')}\n`, { mode: 0o600 });
  writeFileSync(join(creds, 'cloud-password'), `${secretOf('cloud')}\n`, { mode: 0o600 });
});

/** Everything a local user could read about a process: its argv and environment. */
function procView(pid: number): string {
  const read = (f: string) => { try { return readFileSync(`/proc/${pid}/${f}`).toString('utf8').replace(/\0/g, ' '); } catch { return ''; } };
  return `${read('cmdline')}\n${read('environ')}`;
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function assertAbsent(secret: string, where: string, text: string): void {
  assert.ok(text.length > 0, `${where}: nothing to check`);
  assert.ok(!text.includes(secret), `the secret appears in ${where}`);
  console.log(`${where}: ${text.length} chars, secret absent`);
}

test('the agent: no secret in logs, check-config, /metrics, argv or the camera process\'s environment', async () => {
  const secret = secretOf('agent');
  const metricsPort = await freePort();
  const config = join(dir, 'agent.json');
  writeFileSync(config, JSON.stringify({
    camera: { id: 'CAMERA-1', source: 'rpicam', width: 320, height: 240, fps: 5, rpicam: { binary: FAKE_RPICAM } },
    kafka: { brokers: broker.props['bootstrap.external'], passwordFile: 'credential:kafka-password', caFile: broker.props['ssl.ca'] },
    topics: { frames: topics.frames, backfill: topics.backfill },
    stateDir: join(dir, 'agent-state'), log: { level: 'debug' }, metrics: { listen: `127.0.0.1:${metricsPort}` },
  }));
  const env = { PATH: process.env.PATH!, CREDENTIALS_DIRECTORY: creds, FAKE_CAMERA_NODE: process.execPath };
  const check = await run(process.execPath, [AGENT_BIN, 'check-config', '--config', config], { env });
  assertAbsent(secret, 'agent check-config', check.stdout + check.stderr);
  assert.match(check.stdout, /\[secret from .*kafka-password\]/);

  const agent = spawn(process.execPath, [AGENT_BIN, 'run', '--config', config], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  agent.stdout.on('data', (b: Buffer) => (output += b.toString()));
  agent.stderr.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise((r) => agent.once('exit', r));
  try {
    const deadline = Date.now() + 60_000;
    while (!/"?sent|acked|agent started/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    // Let it connect, authenticate and send a few frames, with kafkajs logging at debug.
    const sent = await broker.readRecords(topics.frames, { count: 3, timeoutMs: 30_000 });
    assert.ok(sent.length >= 3, `the agent delivered frames (${sent.length}):\n${output.slice(-2000)}`);
    const cameras = childrenOf(agent.pid!);
    assert.ok(cameras.length >= 1, 'the camera process runs');
    assertAbsent(secret, 'agent argv and environment', procView(agent.pid!));
    for (const pid of cameras) assertAbsent(secret, `camera process ${pid} argv and environment`, procView(pid));
    assertAbsent(secret, 'agent /metrics', await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
  } finally {
    agent.kill('SIGTERM');
    await exited;
  }
  assertAbsent(secret, 'agent log output (debug)', output);
});

test('the cloud service: no secret in logs, check-config, /metrics, /healthz or argv/environment', async () => {
  const secret = secretOf('cloud');
  const config = cloudConfigFile(broker, topics, { kafka: { passwordFile: 'credential:cloud-password' }, log: { level: 'debug' } });
  const env = { CREDENTIALS_DIRECTORY: creds };
  const check = await run(process.execPath, [join(REPO_ROOT, 'cloud/bin/frameline-cloud.js'), 'check-config', '--config', config], { env: { ...process.env, ...env } });
  assertAbsent(secret, 'cloud check-config', check.stdout + check.stderr);
  const cloud = startCloud(['run', '--config', config], env);
  try {
    await cloud.waitForLine(/consuming/);
    const base = await cloud.baseUrl();
    assertAbsent(secret, 'cloud /metrics', await (await fetch(`${base}/metrics`)).text());
    assertAbsent(secret, 'cloud /healthz', await (await fetch(`${base}/healthz`)).text());
    assertAbsent(secret, 'cloud argv and environment', procView(cloud.child.pid!));
  } finally {
    await cloud.stop();
  }
  assertAbsent(secret, 'cloud log output (debug)', cloud.lines.join('\n'));
});
