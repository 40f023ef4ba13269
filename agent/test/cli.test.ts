// The frameline-agent CLI as an operator runs it: a real process, real
// config files, the real broker.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sharedBroker, startPrivateBroker, type PrivateBroker, type TestBroker } from '@frameline/shared/testing';

const BIN = fileURLToPath(new URL('../../bin/frameline-agent.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'fl-agent-cli-'));

interface Outcome { code: number; stdout: string; stderr: string }
async function cli(...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { timeout: 60_000, env: { ...process.env, FRAMELINE_AGENT_CONFIG: '' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function configFile(name: string, config: unknown): string {
  const file = join(dir, `${name}.json`);
  writeFileSync(file, `// ${name}\n${JSON.stringify(config, null, 2)}\n`);
  return file;
}

let broker: TestBroker;
before(async () => {
  broker = await sharedBroker();
});

function doctorConfig(b: TestBroker, passwordFile: string, name: string) {
  const bootstrap = b.props['bootstrap.external']!;
  return configFile(name, {
    camera: { id: 'CAMERA-1', source: 'synthetic', width: 320, height: 240, fps: 5 },
    kafka: { brokers: [bootstrap], passwordFile, caFile: b.props['ssl.ca'] },
    stateDir: join(dir, `state-${name}`),
    delivery: { spool: { maxBytes: '16MiB' } },
  });
}

test('check-config rejects a bad config with exit 78, naming each bad key, its value and the file', async () => {
  const file = configFile('bad', { camera: { id: 'front door', fps: 0, sorce: 'rpicam' }, delivery: { mode: 'fast' } });
  const r = await cli('check-config', '--config', file);
  assert.equal(r.code, 78);
  assert.match(r.stderr, new RegExp(`invalid configuration in ${file.replace(/[.]/g, '\\.')}`));
  assert.match(r.stderr, /camera\.id: .*value was "front door"/);
  assert.match(r.stderr, /camera\.fps: must be a number greater than 0: value was 0/);
  assert.match(r.stderr, /camera\.sorce: unknown key/);
  assert.match(r.stderr, /delivery\.mode: must be one of the possible values: \["reliable","live"\]: value was "fast"/);
});

test('check-config names a missing password file and a file source without a path', async () => {
  const r = await cli('check-config', '--config', configFile('missing', { camera: { source: 'file' }, kafka: { passwordFile: 'nope.password' } }));
  assert.equal(r.code, 78);
  assert.match(r.stderr, /kafka\.passwordFile: cannot read secret file .*nope\.password \(ENOENT\)/);
});

test('check-config prints the effective config with the secret masked', async () => {
  const pw = join(dir, 'agent.password');
  writeFileSync(pw, 'correct-horse-battery-staple\n', { mode: 0o600 });
  const r = await cli('check-config', '--config', configFile('good', { camera: { id: 'CAMERA-2', source: 'synthetic' }, kafka: { passwordFile: pw }, delivery: { spool: { maxAge: '2h' } } }));
  assert.equal(r.code, 0, r.stderr);
  const printed = JSON.parse(r.stdout) as { camera: { id: string }; kafka: { passwordFile: string }; delivery: { spool: { maxAge: number } } };
  assert.equal(printed.camera.id, 'CAMERA-2');
  assert.equal(printed.delivery.spool.maxAge, 7_200_000);
  assert.equal(printed.kafka.passwordFile, `[secret from ${pw}]`);
  assert.doesNotMatch(r.stdout + r.stderr, /correct-horse/);
});

test('doctor passes every check against a healthy broker', async () => {
  const r = await cli('doctor', '--config', doctorConfig(broker, broker.props['sasl.agent.password.file']!, 'healthy'));
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const check of ['DNS', 'TCP', 'TLS', 'SASL credentials', 'advertised listeners', 'topics', 'write permission', 'camera', 'spool directory']) {
    assert.match(r.stdout, new RegExp(`^ok {4}${check}:`, 'm'), `${check} ok`);
  }
});

test('doctor reports a wrong password in plain words', async () => {
  const wrong = join(dir, 'wrong.password');
  writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
  const r = await cli('doctor', '--config', doctorConfig(broker, wrong, 'wrong-password'));
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^FAIL {2}SASL credentials: the broker at .* refused user "agent" \(SASL SCRAM-SHA-512 authentication failed\): check the username and the password file/m);
  assert.match(r.stdout, /fix: check kafka\.username and the file in kafka\.passwordFile/);
  assert.doesNotMatch(r.stdout, /not-the-password/);
});

let misconfigured: PrivateBroker | undefined;
after(async () => {
  await misconfigured?.destroy();
});

test('doctor reports a broker advertising an address this host cannot reach', async () => {
  // The second seed's classic mistake: the EXTERNAL listener advertises a
  // name the client cannot resolve or reach.
  misconfigured = await startPrivateBroker('doctor-advertised', 29410, { KAFKA_EXTERNAL_ADVERTISED_HOST: 'kafka-internal.invalid' });
  const r = await cli('doctor', '--config', doctorConfig(misconfigured, misconfigured.props['sasl.agent.password.file']!, 'advertised'));
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^ok {4}SASL credentials:/m);
  assert.match(r.stdout, /^FAIL {2}advertised listeners: you reached the broker at localhost:29411, but it tells clients to connect to kafka-internal\.invalid:29411 .* which this Pi cannot reach/m);
  assert.match(r.stdout, /fix: on the broker set advertised\.listeners for EXTERNAL/);
});

test('run without a camera binary exits 69 with the install hint, not a stack trace', async () => {
  const pw = join(dir, 'cam.password');
  writeFileSync(pw, 'whatever-password\n', { mode: 0o600 });
  const file = configFile('no-camera', {
    camera: { source: 'rpicam' },
    kafka: { brokers: ['127.0.0.1:1'], passwordFile: pw },
    stateDir: join(dir, 'state-no-camera'),
  });
  const r = await cli('run', '--config', file);
  assert.equal(r.code, 69, r.stdout + r.stderr);
  assert.match(r.stdout, /ERROR +neither rpicam-vid nor libcamera-vid is on PATH; install them with "sudo apt install rpicam-apps"/);
  assert.doesNotMatch(r.stdout + r.stderr, /at resolveCameraBinary/);
});
