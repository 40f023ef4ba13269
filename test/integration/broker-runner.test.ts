// deploy/kafka/kafka.sh as scripts and people use it: `up` on a running
// broker is harmless, and `status` prints the key=value lines clients read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@frameline/shared/testing';

const run = promisify(execFile);
const propsFile = process.env.FRAMELINE_KAFKA_PROPS ?? join(REPO_ROOT, '.cache/kafka-test/client.properties');
const stateDir = dirname(propsFile);

function portsFromConfig(): Record<string, string> {
  const props = readFileSync(join(stateDir, 'run/server.properties'), 'utf8');
  const port = (name: string) => new RegExp(`${name}://127\\.0\\.0\\.1:(\\d+)`).exec(props)![1]!;
  return { KAFKA_INTERNAL_PORT: port('INTERNAL'), KAFKA_EXTERNAL_PORT: port('EXTERNAL'), KAFKA_CONTROLLER_PORT: port('CONTROLLER') };
}

test('kafka.sh up on a running broker keeps the same process and prints the client key=value lines', async () => {
  const env = { ...process.env, FRAMELINE_KAFKA_DIR: stateDir, ...portsFromConfig() };
  const pidBefore = readFileSync(join(stateDir, 'run/kafka.pid'), 'utf8').trim();
  const { stdout, stderr } = await run('bash', [join(REPO_ROOT, 'deploy/kafka/kafka.sh'), 'up'], { env });
  assert.match(stderr, /already running/);
  assert.equal(readFileSync(join(stateDir, 'run/kafka.pid'), 'utf8').trim(), pidBefore);
  const keys = stdout.trim().split('\n').map((l) => l.split('=')[0]);
  for (const k of ['bootstrap.internal', 'bootstrap.external', 'ssl.ca', 'sasl.agent.username', 'sasl.agent.password.file',
    'sasl.cloud.username', 'sasl.cloud.password.file', 'sasl.admin.username', 'sasl.admin.password.file']) {
    assert.ok(keys.includes(k), `${k} printed`);
  }
  // secrets and the rendered config (which holds JAAS secrets) are private to the owner
  for (const f of ['secrets/agent.password', 'run/server.properties', 'tls/broker.p12']) {
    assert.equal(statSync(join(stateDir, f)).mode & 0o077, 0, `${f} is not readable by others`);
  }
  const status = await run('bash', [join(REPO_ROOT, 'deploy/kafka/kafka.sh'), 'status'], { env });
  assert.match(status.stdout, new RegExp(`running pid=${pidBefore}`));
});
