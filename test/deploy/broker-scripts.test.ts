// The broker's deploy scripts and unit, checked without starting a broker:
// systemd's own verifier, shellcheck, the env-file validation of
// ec2-bootstrap.sh (exit 78 naming key and file), and the kafkajs download a
// broker host without npm relies on (pin = package-lock, checksum enforced),
// and that formatting storage keeps the SCRAM passwords out of argv.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT } from '@frameline/shared/testing';

const run = promisify(execFile);
const KAFKA_DIR = join(REPO_ROOT, 'deploy/kafka');

async function outcome(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(cmd, args, { env, maxBuffer: 1 << 22 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

test('systemd-analyze verify accepts kafka.service', async () => {
  const r = await outcome('systemd-analyze', ['verify', join(REPO_ROOT, 'deploy/systemd/kafka.service')]);
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out.trim(), '', 'no warnings either');
  const unit = readFileSync(join(REPO_ROOT, 'deploy/systemd/kafka.service'), 'utf8');
  for (const line of [/^Type=(simple|exec)$/m, /^User=kafka$/m, /^Restart=on-failure$/m, /^LimitNOFILE=\d+$/m, /^EnvironmentFile=\/etc\/frameline\/kafka\.env$/m]) {
    assert.match(unit, line);
  }
});

test('shellcheck finds nothing in the broker scripts', async () => {
  const scripts = readdirSync(KAFKA_DIR).filter((f) => f.endsWith('.sh')).map((f) => join(KAFKA_DIR, f));
  assert.ok(scripts.length >= 4, scripts.join(' '));
  const r = await outcome('shellcheck', ['-x', '-P', 'SCRIPTDIR', ...scripts]);
  assert.equal(r.code, 0, r.out);
});

const goodEnv: Record<string, string> = {
  FRAMELINE_CLUSTER: 'prod-eu', FRAMELINE_SSM_PREFIX: '/frameline/prod-eu', AWS_REGION: 'eu-west-1',
  KAFKA_NODE_ID: '2', KAFKA_NODE_COUNT: '3', KAFKA_QUORUM_VOTERS: '1@10.0.1.10:9093,2@10.0.1.11:9093,3@10.0.1.12:9093',
  KAFKA_PRIVATE_IP: '10.0.1.11', KAFKA_EXTERNAL_ADVERTISED_HOST: '203.0.113.7', KAFKA_EXTERNAL_DNS: '',
  KAFKA_INTERNAL_PORT: '19092', KAFKA_EXTERNAL_PORT: '9092', KAFKA_CONTROLLER_PORT: '9093',
  KAFKA_PARTITIONS: '12', KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_ISR: '2', KAFKA_RETENTION_HOURS: '24', KAFKA_HEAP: '1g',
  KAFKA_DATA_VOLUME_ID: 'vol-0123456789abcdef0',
  // Nothing answers here: a valid file gets as far as asking for an IMDSv2 token, and stops.
  FRAMELINE_IMDS_ENDPOINT: 'http://127.0.0.1:9',
};

for (const [key, value, why] of [
  ['KAFKA_NODE_ID', '4', /a node id from 1 to KAFKA_NODE_COUNT/],
  ['KAFKA_QUORUM_VOTERS', '1@10.0.1.10:9093,3@10.0.1.12:9093,2@10.0.1.99:9093', /does not name this node as 2@10\.0\.1\.11:9093/],
  ['KAFKA_MIN_ISR', '4', /'4' is not 1, 2 or 3/],
  ['KAFKA_DATA_VOLUME_ID', '/dev/xvdf', /an EBS volume id/],
  ['FRAMELINE_CLUSTER', 'Prod_EU', /a cluster name/],
] as const) {
  test(`ec2-bootstrap.sh exits 78 naming ${key} and the env file when it is ${value}`, async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'fl-env-')), 'kafka.env');
    writeFileSync(file, Object.entries({ ...goodEnv, [key]: value }).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
    const r = await outcome('bash', [join(KAFKA_DIR, 'ec2-bootstrap.sh'), file]);
    assert.equal(r.code, 78, r.out);
    assert.match(r.out, new RegExp(`error: ${key} in ${file.replaceAll('.', '\\.')}: `));
    assert.match(r.out, why);
  });
}

test('ec2-bootstrap.sh accepts the contract\'s env file and then needs IMDSv2', async () => {
  const file = join(mkdtempSync(join(tmpdir(), 'fl-env-')), 'kafka.env');
  writeFileSync(file, Object.entries(goodEnv).map(([k, v]) => `${k}=${v}`).join('\n') + '\n');
  const r = await outcome('bash', [join(KAFKA_DIR, 'ec2-bootstrap.sh'), file]);
  assert.equal(r.code, 1, r.out);
  assert.match(r.out, /no IMDSv2 token from http:\/\/127\.0\.0\.1:9/);
});

test('the kafkajs pin in lib.sh is package-lock.json\'s, and ensure_kafkajs installs only a tarball that matches it', async () => {
  const lock = JSON.parse(readFileSync(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; integrity: string }> };
  const pinned = lock.packages['node_modules/kafkajs']!;
  const lib = readFileSync(join(KAFKA_DIR, 'lib.sh'), 'utf8');
  assert.match(lib, new RegExp(`^kafkajs_version=${pinned.version.replaceAll('.', '\\.')}$`, 'm'));
  assert.ok(lib.includes(`\nkafkajs_integrity=${pinned.integrity}\n`), 'integrity as in package-lock.json');

  // A broker host's /opt/frameline/kafka: the files, no node_modules anywhere above.
  const host = mkdtempSync(join(tmpdir(), 'fl-kafkajs-'));
  cpSync(KAFKA_DIR, host, { recursive: true });
  const ensure = (integrity?: string) => outcome('bash', ['-c', `set -e; lib_here=${host}; . ${host}/lib.sh; ${integrity ? `kafkajs_integrity=${integrity}; ` : ''}ensure_kafkajs`]);
  const tampered = await ensure('sha512-' + Buffer.alloc(64).toString('base64'));
  assert.equal(tampered.code, 1);
  assert.match(tampered.out, /does not match its pinned sha512; refusing to use it/);
  const r = await ensure();
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /fetching kafkajs .* from the npm registry/);
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', "const k = await import('kafkajs'); console.log(typeof k.default.Kafka)"], { cwd: host });
  assert.equal(stdout.trim(), 'function', 'provision.mjs can import it');
  assert.equal((await ensure()).out, '', 'a second run does nothing');
});

test('formatting storage keeps the SCRAM passwords out of the JVM\'s argv (they go through a java @argfile)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-format-'));
  const data = join(dir, 'data'), logs = join(dir, 'logs'), secrets = join(dir, 'secrets'), shim = join(dir, 'bin');
  for (const d of [data, logs, secrets, shim]) mkdirSync(d);
  const passwords = Object.fromEntries(['admin', 'agent', 'cloud'].map((u) => [u, `pw${u}${Math.random().toString(36).slice(2)}`]));
  for (const [u, p] of Object.entries(passwords)) writeFileSync(join(secrets, `${u}.password`), p, { mode: 0o600 });
  writeFileSync(join(dir, 'server.properties'), [
    'process.roles=broker,controller', 'node.id=1', 'controller.quorum.voters=1@127.0.0.1:49093',
    'listeners=PLAINTEXT://127.0.0.1:49092,CONTROLLER://127.0.0.1:49093', 'controller.listener.names=CONTROLLER', `log.dirs=${data}`, '',
  ].join('\n'));
  // A `java` first on PATH that records the argv it was started with, then runs the real one.
  const realJava = (await run('bash', ['-c', 'command -v java'])).stdout.trim();
  writeFileSync(join(shim, 'java'), `#!/bin/bash\nprintf '%s\\n' "$@" >>${join(dir, 'argv.txt')}\nexec ${realJava} "$@"\n`, { mode: 0o755 });
  const script = `lib_here=${KAFKA_DIR}; source ${KAFKA_DIR}/lib.sh; kafka_libs=${REPO_ROOT}/.cache/kafka-dist/$kafka_version/libs; `
    + `format_storage ${join(dir, 'server.properties')} ${data} ${logs} MkU3OEVBNTcwNTJENDM2Qg ${secrets}`;
  const r = await outcome('bash', ['-c', script], { ...process.env, PATH: `${shim}:${process.env.PATH}` });
  assert.equal(r.code, 0, r.out);
  const argv = readFileSync(join(dir, 'argv.txt'), 'utf8');
  assert.match(argv, /^@.*\.format-args\./m, 'the credentials went through an @argfile');
  for (const [u, p] of Object.entries(passwords)) assert.ok(!argv.includes(p), `${u}'s password is in java's argv`);
  assert.deepEqual(readdirSync(logs).filter((f) => f.startsWith('.format-args')), [], 'the argfile is removed');
  // Every user's credential made it into the bootstrap metadata.
  const checkpoint = readFileSync(join(data, 'bootstrap.checkpoint')).toString('latin1');
  for (const u of Object.keys(passwords)) assert.ok(checkpoint.includes(u), `${u} is in bootstrap.checkpoint`);
});
