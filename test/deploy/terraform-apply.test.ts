// `terraform apply` and `terraform destroy` of deploy/terraform against moto's
// AWS API emulator on 127.0.0.1 (EC2, IAM, S3, STS), with broker_count 1 and 3.
// Checks that hold for every resource of a kind, in Terraform's state and in
// what the emulated account holds: no ingress opens 9092, 19092 or 22 to the
// world, no SSH at all, every instance requires IMDSv2, every volume is
// encrypted; the outputs make a config the real agent and cloud CLIs accept;
// destroy leaves nothing behind. The Debian AMIs come from a fixture (moto
// knows only Amazon's), so the module's AMI lookup runs as on AWS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import { REPO_ROOT } from '@frameline/shared/testing';
import { scratchModule, terraform } from './terraform-support.js';

// The venv npm test makes (scripts/lib.mjs ensureMoto; the same one test/support/moto.ts uses).
const MOTO_VENV = join(REPO_ROOT, '.cache/venv-moto');
const REGION = 'us-east-1';
const WORLD = new Set(['0.0.0.0/0', '::/0']);
const GUARDED_PORTS = [22, 9092, 19092];

let moto: { url: string; child: ChildProcess; log: string };
let scratch: ReturnType<typeof scratchModule>; // the current test's module copy

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A fresh emulator per test: moto keeps a terminated instance's private IP, which the next cluster's fixed IPs would hit. */
async function startMoto(): Promise<void> {
  const port = await freePort();
  // Its request log goes to a file: a pipe would fill while spawnSync blocks the event loop, and stall moto.
  const log = join(mkdtempSync(join(tmpdir(), 'fl-moto-')), 'moto.log');
  const logFd = openSync(log, 'w');
  const child = spawn(join(MOTO_VENV, 'bin/moto_server'), ['-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_AMIS_PATH: join(REPO_ROOT, 'test/deploy/fixtures/debian-amis.json') },
    stdio: ['ignore', logFd, logFd],
  });
  closeSync(logFd);
  moto = { url: `http://127.0.0.1:${port}`, child, log };
  for (let i = 0; i < 240; i++) { // up to 60 s on a busy machine
    if (child.exitCode !== null) throw new Error(`moto_server exited (${child.exitCode}): ${readFileSync(log, 'utf8').slice(-3000)}`);
    try {
      if ((await fetch(`${moto.url}/moto-api/`)).ok) break;
    } catch { /* not listening yet */ }
    await sleep(250);
  }
}

/** A fresh emulator and a scratch copy of the module whose provider talks to it (override.tf lives only there). */
async function useScratch(label: string): Promise<void> {
  await startMoto();
  scratch = scratchModule(label);
  if (scratch.note) console.log(`note: ${scratch.note}`);
  const endpoints = ['ec2', 'iam', 's3', 'ssm', 'sts'].map((s) => `    ${s} = "${moto.url}"`).join('\n');
  writeFileSync(join(scratch.module, 'override.tf'), `provider "aws" {
  access_key                  = "moto"
  secret_key                  = "moto"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {
${endpoints}
  }
}
`);
}

/** Tears down what a failed test left (best effort), then the scratch copy and the emulator. */
async function dropScratch(): Promise<void> {
  terraform(scratch.module, scratch.env, ['destroy', '-auto-approve', '-parallelism=20'], true);
  rmSync(scratch.root, { recursive: true, force: true });
  if (moto.child.exitCode === null) {
    moto.child.kill('SIGTERM');
    await new Promise((resolve) => moto.child.once('exit', resolve));
  }
  rmSync(dirname(moto.log), { recursive: true, force: true });
}

interface TfResource { address: string; type: string; values: Record<string, unknown> }
interface Inventory {
  instances: { id: string; state: string; ami: string; httpTokens: string; privateIp: string }[];
  volumes: { id: string; encrypted: boolean; type: string; state: string; attachments: string[] }[];
  addresses: { publicIp: string; eni: string }[];
  securityGroups: { id: string; name: string; ingress: IpPermission[] }[];
  roles: string[];
  instanceProfiles: string[];
  buckets: string[];
}
interface IpPermission { IpProtocol: string; FromPort?: number; ToPort?: number; IpRanges: { CidrIp: string }[]; Ipv6Ranges: { CidrIpv6: string }[] }

function stateResources(): TfResource[] {
  const show = JSON.parse(terraform(scratch.module, scratch.env, ['show', '-json']).stdout) as { values?: { root_module: Module } };
  interface Module { resources?: TfResource[]; child_modules?: Module[] }
  const walk = (m: Module): TfResource[] => [...(m.resources ?? []), ...(m.child_modules ?? []).flatMap(walk)];
  return show.values ? walk(show.values.root_module) : [];
}

function inventory(): Inventory {
  const r = spawnSync(join(MOTO_VENV, 'bin/python'), [join(REPO_ROOT, 'test/deploy/moto-inventory.py'), moto.url, REGION], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Inventory;
}

const covers = (protocol: string, from: number | undefined, to: number | undefined, port: number) =>
  protocol === '-1' || protocol === 'all' || ((from ?? 0) <= port && port <= (to ?? 65535));

/** The ingress-related attributes of the AWS provider's security group resources. */
interface RawRule {
  type?: string; ip_protocol?: string; protocol?: string; from_port?: number; to_port?: number;
  cidr_ipv4?: string | null; cidr_ipv6?: string | null; cidr_blocks?: string[]; ipv6_cidr_blocks?: string[]; ingress?: RawRule[];
}

/** Every ingress rule of every kind in Terraform's state, as (cidrs, protocol, from, to). */
function ingressRules(resources: TfResource[]) {
  const rule = (where: string, cidrs: (string | null | undefined)[], protocol: string | undefined, from?: number, to?: number) =>
    ({ where, cidrs: cidrs.filter((c): c is string => !!c), protocol: protocol ?? '', from, to });
  const rules: ReturnType<typeof rule>[] = [];
  for (const r of resources) {
    const v = r.values as RawRule;
    if (r.type === 'aws_vpc_security_group_ingress_rule') {
      rules.push(rule(r.address, [v.cidr_ipv4, v.cidr_ipv6], v.ip_protocol, v.from_port, v.to_port));
    } else if (r.type === 'aws_security_group_rule' && v.type === 'ingress') {
      rules.push(rule(r.address, [...(v.cidr_blocks ?? []), ...(v.ipv6_cidr_blocks ?? [])], v.protocol, v.from_port, v.to_port));
    } else if (r.type === 'aws_security_group') {
      for (const i of v.ingress ?? []) rules.push(rule(r.address, [...(i.cidr_blocks ?? []), ...(i.ipv6_cidr_blocks ?? [])], i.protocol, i.from_port, i.to_port));
    }
  }
  return rules;
}

function checkEveryResource(cluster: string, resources: TfResource[], inv: Inventory): void {
  // Firewall, in Terraform's view: nothing guarded open to the world, no SSH from anywhere.
  const rules = ingressRules(resources);
  assert.ok(rules.length >= 4, `ingress rules found: ${rules.length}`);
  for (const rule of rules) {
    for (const port of GUARDED_PORTS) {
      const open = covers(rule.protocol, rule.from, rule.to, port);
      assert.ok(!(open && rule.cidrs.some((c) => WORLD.has(c))), `${rule.where} opens ${port} to the world`);
      if (port === 22) assert.ok(!open, `${rule.where} allows SSH`);
    }
  }
  // ... and in the emulated account, for every security group there.
  for (const g of inv.securityGroups) {
    for (const p of g.ingress) {
      const world = p.IpRanges.some((r) => WORLD.has(r.CidrIp)) || p.Ipv6Ranges.some((r) => WORLD.has(r.CidrIpv6));
      for (const port of GUARDED_PORTS) {
        const open = covers(p.IpProtocol, p.FromPort, p.ToPort, port);
        assert.ok(!(world && open), `security group ${g.name} opens ${port} to the world`);
        if (port === 22 && g.name.startsWith(cluster)) assert.ok(!open, `security group ${g.name} allows SSH`);
      }
    }
  }

  const instances = resources.filter((r) => r.type === 'aws_instance');
  for (const i of instances) {
    const meta = (i.values.metadata_options as { http_tokens: string }[])[0]!;
    assert.equal(meta.http_tokens, 'required', `${i.address} must require IMDSv2`);
    assert.equal((i.values.root_block_device as { encrypted: boolean }[])[0]!.encrypted, true, `${i.address} root volume encrypted`);
  }
  for (const v of resources.filter((r) => r.type === 'aws_ebs_volume')) assert.equal(v.values.encrypted, true, `${v.address} encrypted`);
  const live = inv.instances.filter((i) => i.state !== 'terminated');
  assert.equal(live.length, instances.length, 'the account runs exactly the instances in the state');
  for (const i of live) assert.equal(i.httpTokens, 'required', `instance ${i.id} must require IMDSv2`);
  for (const v of inv.volumes) assert.equal(v.encrypted, true, `volume ${v.id} (${v.type}) must be encrypted`);
}

function output<T>(name: string): T {
  return (JSON.parse(terraform(scratch.module, scratch.env, ['output', '-json']).stdout) as Record<string, { value: T }>)[name]!.value;
}

/** The agent config as a Pi would install it, validated by the real CLI (password and CA as temp files). */
function checkAgentConfig(expectedBrokers: string[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'fl-tf-agent-'));
  try {
      const config = JSON.parse(output<string>('agent_config_json')) as { kafka: { brokers: string[]; caFile: string } };
      assert.deepEqual(config.kafka.brokers, expectedBrokers);
      config.kafka.caFile = join(dir, 'ca.pem');
      // A real PEM certificate standing in for the one fetch_ca_command gets (check-config reads it).
      const ca = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=stand-in CA', '-keyout', join(dir, 'ca.key'), '-out', config.kafka.caFile], { encoding: 'utf8' });
      assert.equal(ca.status, 0, ca.stderr);
      writeFileSync(join(dir, 'kafka-password'), 'stand-in-password\n', { mode: 0o600 });
      writeFileSync(join(dir, 'agent.json'), JSON.stringify(config, null, 2));
      const env = { ...process.env, CREDENTIALS_DIRECTORY: dir };
      const agent = spawnSync(process.execPath, [join(REPO_ROOT, 'agent/bin/frameline-agent.js'), 'check-config', '--config', join(dir, 'agent.json')], { encoding: 'utf8', env });
      assert.equal(agent.status, 0, `agent check-config: ${agent.stdout}\n${agent.stderr}`);
      for (const b of expectedBrokers) assert.ok(agent.stdout.includes(b), `agent config names ${b}`);

      writeFileSync(join(dir, 'cloud.json'), output<string>('cloud_config_json'));
      const cloud = spawnSync(process.execPath, [join(REPO_ROOT, 'cloud/bin/frameline-cloud.js'), 'check-config', '--config', join(dir, 'cloud.json')], { encoding: 'utf8', env });
      assert.equal(cloud.status, 0, `cloud check-config: ${cloud.stdout}\n${cloud.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Terraform's "1m3s" as seconds. */
function durationSeconds(text: string): number {
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1 };
  return [...text.matchAll(/(\d+)([hms])/g)].reduce((total, [, n, u]) => total + Number(n) * unit[u!]!, 0);
}

function applyCluster(vars: Record<string, unknown>): { resources: TfResource[]; inv: Inventory; seconds: number } {
  writeFileSync(join(scratch.module, 'test.auto.tfvars.json'), JSON.stringify({
    region: REGION, agent_cidrs: ['198.51.100.0/24'], cloud_release_path: join(scratch.module, 'tests/fixtures/cloud-release.tar.gz'), ...vars,
  }));
  const started = Date.now();
  const applied = terraform(scratch.module, scratch.env, ['apply', '-auto-approve', '-parallelism=20']);
  const slowest = [...applied.stdout.matchAll(/^(\S+): Creation complete after (\S+)/gm)]
    .map(([, address, after]) => ({ address: address!, after: after!, seconds: durationSeconds(after!) }))
    .sort((a, b) => b.seconds - a.seconds).slice(0, 3);
  console.log(`slowest creations: ${slowest.map((c) => `${c.address} ${c.after}`).join(', ')}`);
  return { resources: stateResources(), inv: inventory(), seconds: (Date.now() - started) / 1000 };
}

function destroyAndCheck(cluster: string): number {
  const started = Date.now();
  terraform(scratch.module, scratch.env, ['destroy', '-auto-approve', '-parallelism=20']);
  const seconds = (Date.now() - started) / 1000;
  assert.deepEqual(stateResources().filter((r) => r.type !== 'aws_partition' && !r.address.startsWith('data.')), [], 'state holds no resource');
  const inv = inventory();
  assert.deepEqual(inv.instances.filter((i) => i.state !== 'terminated'), [], 'no instance left running');
  assert.deepEqual(inv.addresses, [], 'no Elastic IP left');
  assert.deepEqual(inv.volumes, [], 'no volume left');
  assert.deepEqual(inv.securityGroups.filter((g) => g.name.startsWith(cluster)), [], 'no security group left');
  assert.deepEqual(inv.roles.filter((r) => r.startsWith(cluster)), [], 'no IAM role left');
  assert.deepEqual(inv.instanceProfiles.filter((r) => r.startsWith(cluster)), [], 'no instance profile left');
  assert.deepEqual(inv.buckets.filter((b) => b.startsWith(cluster)), [], 'no bucket left');
  return seconds;
}

test('apply with one broker and one consumer: firewall, IMDSv2 and encryption hold everywhere, the agent config validates, destroy leaves nothing', async () => {
  const cluster = 'fl-moto';
  await useScratch('apply1');
  try {
    const { resources, inv, seconds } = applyCluster({ cluster_name: cluster, broker_count: 1, consumer_count: 1 });
    console.log(`apply (1 broker, 1 consumer): ${resources.filter((r) => !r.address.startsWith('data.') && !r.address.includes('.data.')).length} resources in ${seconds.toFixed(1)} s`);
    checkEveryResource(cluster, resources, inv);

    // The broker boots with its Elastic IP advertised: the kafka.env inside the user_data EC2 got.
    const brokers = output<{ public_ip: string; private_ip: string; instance_id: string }[]>('brokers');
    assert.equal(brokers.length, 1);
    assert.deepEqual(inv.addresses.map((a) => a.publicIp), [brokers[0]!.public_ip]);
    const broker = resources.find((r) => r.address === 'aws_instance.broker[0]')!;
    const script = gunzipSync(Buffer.from(broker.values.user_data_base64 as string, 'base64')).toString('utf8');
    assert.ok(script.includes(`KAFKA_EXTERNAL_ADVERTISED_HOST=${brokers[0]!.public_ip}\n`), 'user_data advertises the Elastic IP');
    assert.ok(script.includes(`KAFKA_QUORUM_VOTERS=1@${brokers[0]!.private_ip}:9093\n`), 'user_data names the fixed private IP as the voter');
    assert.equal(inv.instances.find((i) => i.id === brokers[0]!.instance_id)!.privateIp, brokers[0]!.private_ip);
    assert.equal(inv.instances.find((i) => i.id === brokers[0]!.instance_id)!.ami, 'ami-0d1eb1a9e5c0de612', 'Debian 12 arm64 image');
    assert.ok(inv.volumes.some((v) => v.type === 'gp3' && v.attachments.includes(brokers[0]!.instance_id)), 'gp3 data volume attached');

    checkAgentConfig([`${brokers[0]!.public_ip}:9092`]);
    assert.match(output<string>('fetch_ca_command'), /^aws ssm get-parameter --region us-east-1 --with-decryption .* --name \/frameline\/fl-moto\/tls\/ca\.pem > ca\.pem$/);

    console.log(`destroy: ${destroyAndCheck(cluster).toFixed(1)} s`);
  } finally {
    await dropScratch();
  }
});

test('apply with broker_count = 3: three brokers, three Elastic IPs, one three-voter quorum, RF 3 / min ISR 2; destroy leaves nothing', async () => {
  const cluster = 'fl-moto3';
  await useScratch('apply3');
  try {
    const { resources, inv, seconds } = applyCluster({ cluster_name: cluster, broker_count: 3, consumer_count: 2 });
    console.log(`apply (3 brokers, 2 consumers): ${resources.filter((r) => !r.address.startsWith('data.') && !r.address.includes('.data.')).length} resources in ${seconds.toFixed(1)} s`);
    checkEveryResource(cluster, resources, inv);

    const brokers = output<{ public_ip: string; private_ip: string }[]>('brokers');
    assert.equal(brokers.length, 3);
    assert.equal(new Set(brokers.map((b) => b.public_ip)).size, 3, 'three distinct Elastic IPs');
    assert.equal(inv.addresses.length, 3);
    const voters = brokers.map((b, i) => `${i + 1}@${b.private_ip}:9093`).join(',');
    const envs = output<string[]>('broker_kafka_env');
    envs.forEach((env, i) => {
      assert.ok(env.includes(`KAFKA_QUORUM_VOTERS=${voters}\n`), `broker ${i + 1} names all three voters`);
      assert.ok(env.includes(`KAFKA_NODE_ID=${i + 1}\n`) && env.includes(`KAFKA_EXTERNAL_ADVERTISED_HOST=${brokers[i]!.public_ip}\n`));
      assert.ok(env.includes('KAFKA_REPLICATION_FACTOR=3\n') && env.includes('KAFKA_MIN_ISR=2\n'));
    });
    assert.equal(inv.instances.filter((i) => i.state !== 'terminated').length, 5);
    checkAgentConfig(brokers.map((b) => `${b.public_ip}:9092`));

    console.log(`destroy: ${destroyAndCheck(cluster).toFixed(1)} s`);
  } finally {
    await dropScratch();
  }
});
