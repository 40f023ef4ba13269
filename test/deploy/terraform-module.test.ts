// deploy/terraform without AWS: formatting, `terraform validate`, the module's
// own `terraform test` suite (mocked AWS provider: firewall, IMDSv2, IAM paths,
// variable validation, three-broker quorum, outputs), and the broker user_data
// rendered through the same sub-module the cluster uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MODULE_DIR, renderBrokerUserData, scratchModule, terraform, terraformEnv } from './terraform-support.js';

const CONTRACT_KEYS = [
  'AWS_REGION', 'FRAMELINE_CLUSTER', 'FRAMELINE_SSM_PREFIX', 'KAFKA_CONTROLLER_PORT', 'KAFKA_DATA_VOLUME_ID',
  'KAFKA_EXTERNAL_ADVERTISED_HOST', 'KAFKA_EXTERNAL_DNS', 'KAFKA_EXTERNAL_PORT', 'KAFKA_HEAP', 'KAFKA_INTERNAL_PORT',
  'KAFKA_MIN_ISR', 'KAFKA_NODE_COUNT', 'KAFKA_NODE_ID', 'KAFKA_PARTITIONS', 'KAFKA_PRIVATE_IP', 'KAFKA_QUORUM_VOTERS',
  'KAFKA_REPLICATION_FACTOR', 'KAFKA_RETENTION_HOURS',
];

test('terraform fmt -check finds nothing to reformat in deploy/terraform', () => {
  const scratch = scratchModule('fmt');
  try {
    const r = terraform(MODULE_DIR, terraformEnv(scratch.root), ['fmt', '-check', '-recursive', '-diff'], true);
    assert.equal(r.status, 0, `unformatted files (run terraform fmt -recursive deploy/terraform):\n${r.stdout}`);
  } finally {
    rmSync(scratch.root, { recursive: true, force: true });
  }
});

test('terraform validate passes and the mocked terraform test suite passes every run', () => {
  const scratch = scratchModule('test');
  try {
    if (scratch.note) console.log(`note: ${scratch.note}`);
    assert.match(terraform(scratch.module, scratch.env, ['validate']).stdout, /The configuration is valid/);
    const started = Date.now();
    const r = terraform(scratch.module, scratch.env, ['test'], true);
    const runs = readdirSync(join(scratch.module, 'tests')).filter((f) => f.endsWith('.tftest.hcl'));
    console.log(`terraform test: ${runs.join(', ')} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.equal(r.status, 0, `terraform test failed:\n${r.stdout}\n${r.stderr}`);
    const summary = /Success! (\d+) passed, 0 failed\./.exec(r.stdout);
    assert.ok(summary, `no success line in:\n${r.stdout}`);
    assert.ok(Number(summary[1]) >= 10, `expected every run to pass, got ${summary[1]}`);
    assert.doesNotMatch(r.stdout, /\bskip\b/, 'no run may be skipped');
  } finally {
    rmSync(scratch.root, { recursive: true, force: true });
  }
});

test('the rendered broker user_data writes every deploy/kafka file and the contract kafka.env, under 16 KiB gzipped as EC2 counts it', () => {
  const scratch = scratchModule('userdata');
  try {
    const kafkaDir = join(scratch.root, 'deploy/kafka');
    const rendered = renderBrokerUserData({
      clusterName: 'fl-render', region: 'eu-west-1', nodeId: 2, privateIps: ['10.0.1.10', '10.0.2.11', '10.0.3.12'],
      externalHost: '198.51.100.2', externalDns: 'ec2-198-51-100-2.eu-west-1.compute.amazonaws.com', dataVolumeId: 'none', kafkaDir,
    });
    const env = Object.fromEntries(rendered.kafkaEnv.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    assert.deepEqual(Object.keys(env).sort(), CONTRACT_KEYS);
    assert.equal(env.KAFKA_QUORUM_VOTERS, '1@10.0.1.10:9093,2@10.0.2.11:9093,3@10.0.3.12:9093');
    assert.equal(env.KAFKA_PRIVATE_IP, '10.0.2.11');
    assert.equal(env.KAFKA_NODE_ID, '2');
    assert.equal(env.KAFKA_REPLICATION_FACTOR, '3');
    assert.equal(env.KAFKA_MIN_ISR, '2');
    assert.equal(env.FRAMELINE_SSM_PREFIX, '/frameline/fl-render');
    assert.equal(env.KAFKA_DATA_VOLUME_ID, 'none');

    // What EC2 receives unpacks to the script, which bash parses.
    assert.equal(gunzipSync(Buffer.from(rendered.userDataBase64, 'base64')).toString('utf8'), rendered.script);
    const syntax = spawnSync('bash', ['-n'], { input: rendered.script, encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);
    // kafka.sh is the local runner: EC2 boots through ec2-bootstrap.sh, and the 16 KiB leave no room for it.
    const embedded = readdirSync(kafkaDir).filter((f) => !f.endsWith('.md') && !f.endsWith('.d.mts') && f !== 'kafka.sh').sort();
    assert.deepEqual(rendered.files, embedded);
    for (const f of embedded) {
      const mode = f.endsWith('.sh') ? '0755' : '0644';
      assert.ok(rendered.script.includes(`\nput /opt/frameline/kafka/${f} ${mode} '`), `${f} written with mode ${mode}`);
    }
    assert.match(rendered.script, /^exec bash \/opt\/frameline\/kafka\/ec2-bootstrap\.sh \/etc\/frameline\/kafka\.env$/m);
    assert.doesNotMatch(rendered.script, /password="?[A-Za-z0-9+/]{8,}|BEGIN [A-Z ]*PRIVATE KEY/, 'no secret in user_data');
    // EC2's limit applies to the raw user_data (the gzip bytes), not to its base64 transport.
    const raw = Buffer.from(rendered.userDataBase64, 'base64').length;
    console.log(`user_data: script ${rendered.script.length} B, gzip ${raw} B of 16384 (base64 ${rendered.userDataBase64.length} B, ${rendered.files.length} files)`);
    assert.equal(rendered.userDataBytes, raw);
    assert.ok(raw < 16384);
  } finally {
    rmSync(scratch.root, { recursive: true, force: true });
  }
});
