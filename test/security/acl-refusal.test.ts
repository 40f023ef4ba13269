// ACL refusals that retrying cannot fix stop the real `frameline-cloud run`
// with exit status 77 (EX_NOPERM, RestartPreventExitStatus in the unit) and
// a line naming what was refused and the ACL to add, at start (a group
// outside the granted prefix) and later (results topic not writable).
// The same for the real `frameline-agent run`: a frames topic it may describe
// but not write, and one it may not even describe, stop it with 77; in
// reliable mode its frames stay in the spool, and reach the topic once the
// ACL is added and the agent started again.
// Cost: about 2.5 min on a busy 2-core machine (the agent cases 1.5 min of it,
// with a JVM run to make a SCRAM user).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { EXIT_NOPERM, createKafka, createLogger, encodeFrame, type TopicSet } from '@frameline/shared';
import { REPO_ROOT, freePort, sharedBroker, waitFor, type TestBroker } from '@frameline/shared/testing';
import { scrapeAgentMetric } from '../support/agent-process.js';
import { solidJpeg } from '@frameline/shared/testing/jpegs';
import { cloudConfigFile, startCloud } from './cloud-process.js';

let broker: TestBroker;
let topics: TopicSet;

before(async () => {
  broker = await sharedBroker();
  topics = await broker.topics('acl-refusal', 1);
});

test('a consumer group outside the granted prefix stops the service: exit 77, the group and the ACL named, no zombie', async () => {
  const group = `outside-prefix-${randomUUID().slice(0, 6)}`;
  const cloud = startCloud(['run', '--config', cloudConfigFile(broker, topics, { kafka: { groupId: group } })]);
  const timer = setTimeout(() => void cloud.stop(), 60_000);
  const code = await cloud.exited;
  clearTimeout(timer);
  const refusal = cloud.lines.find((l) => /refused consumer group/.test(l));
  console.log(`exit ${code}: ${refusal?.slice(0, 400)}`);
  assert.equal(code, EXIT_NOPERM, cloud.lines.slice(-20).join('\n'));
  assert.ok(refusal, cloud.lines.join('\n'));
  assert.match(refusal, new RegExp(`"${group}"`));
  assert.match(refusal, /Group authorization failed/);
  assert.match(refusal, new RegExp(`--allow-principal User:cloud --operation Read --group ${group}`));
  assert.match(refusal, /prefix "frameline-"/);
  assert.ok(!cloud.lines.some((l) => /INFO .*consuming/.test(l)), 'never claims to be consuming');
  assert.ok(!cloud.lines.some((l) => /^\s+at /.test(l)), 'no stack trace');
});

test('a results topic the ACLs do not let it write stops the service when it first publishes: exit 77, topic and ACL named', async () => {
  // The cloud user may only read the frames topic: use it as the results topic.
  const cloud = startCloud(['run', '--config', cloudConfigFile(broker, topics, { topics: { inferences: topics.frames } })]);
  await cloud.waitForLine(/consuming/);
  const producer = createKafka(broker.connection('agent', 'external'), createLogger({ level: 'error' })).producer();
  await producer.connect();
  const jpeg = await solidJpeg(64, 48);
  await producer.send({ topic: topics.frames, messages: [{ ...encodeFrame({ camera: 'CAMERA-1', run: randomUUID(), seq: 0, capturedAt: Date.now(), width: 64, height: 48, jpeg }), partition: 0 }] });
  await producer.disconnect();
  const timer = setTimeout(() => void cloud.stop(), 60_000);
  const code = await cloud.exited;
  clearTimeout(timer);
  const refusal = cloud.lines.find((l) => /refused user "cloud" writing a topic/.test(l));
  console.log(`exit ${code}: ${refusal?.slice(0, 400)}`);
  assert.equal(code, EXIT_NOPERM, cloud.lines.slice(-20).join('\n'));
  assert.ok(refusal, cloud.lines.join('\n'));
  assert.match(refusal, new RegExp(`--operation Write --operation Describe --topic ${topics.frames.replace(/\./g, '\\.')}`));
});

const AGENT_BIN = join(REPO_ROOT, 'agent/bin/frameline-agent.js');
const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;

interface AgentRun {
  exited: Promise<number | null>;
  log: () => string;
  kill(signal: NodeJS.Signals): void;
}

function runAgent(configFile: string): AgentRun {
  const child = spawn(process.execPath, [AGENT_BIN, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, JOURNAL_STREAM: '' } });
  let log = '';
  child.stdout.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // A bound on every run: an agent that spools forever fails the test instead of hanging it.
  const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  void exited.then(() => clearTimeout(timer));
  return { exited, log: () => log, kill: (signal) => child.kill(signal) };
}

/** Grants `operations` on `topic` to User:`user`, and waits until the authorizer has them. */
async function agentAcl(topic: string, operations: number[], user = 'agent'): Promise<void> {
  const admin = broker.admin();
  await admin.connect();
  try {
    const acl = operations.map((operation) => ({
      resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${user}`, host: '*', operation, permissionType: AclPermissionTypes.ALLOW,
    }));
    await admin.createAcls({ acl });
    await waitFor('the ACLs to be visible', async () => {
      const { resources } = await admin.describeAcls({
        resourceType: AclResourceTypes.TOPIC, resourceName: topic, resourcePatternType: ResourcePatternTypes.LITERAL,
        principal: `User:${user}`, host: '*', operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
      });
      return resources.reduce((n, r) => n + r.acls.length, 0) >= operations.length;
    }, 15_000, 200);
  } finally {
    await admin.disconnect();
  }
  // The describe above answers from the controller; give the broker's authorizer a moment to catch up.
  await new Promise((r) => setTimeout(r, 1000));
}

/** Frames (run/seq) a closed spool directory holds, read with the agent's own spool (from its build). */
async function spooledFrames(dir: string): Promise<string[]> {
  const { openSpool } = (await import(join(REPO_ROOT, 'agent/dist/src/delivery/spool.js'))) as {
    openSpool(o: Record<string, unknown>, d: { logger: ReturnType<typeof createLogger> }): Promise<{
      read(maxRecords: number, maxBytes: number): Promise<{ records: { headers: Record<string, string> }[] } | null>;
      ack(batch: unknown): Promise<void>;
      close(): Promise<void>;
    }>;
  };
  // Read (and acknowledge) a copy, so the agent's own spool is left as it was.
  const copy = await mkdtemp(join(tmpdir(), 'fl-agent-acl-spool-'));
  try {
    await cp(dir, copy, { recursive: true });
    const spool = await openSpool(
      { dir: copy, maxBytes: 1 << 30, maxAgeMs: 0, segmentBytes: 1 << 30, fsync: 'never', fsyncIntervalMs: 1000, maxPendingBytes: 1 << 20 },
      { logger: createLogger({ level: 'error', journald: false }) },
    );
    const frames: string[] = [];
    for (let batch = await spool.read(10_000, 1 << 28); batch; batch = await spool.read(10_000, 1 << 28)) {
      for (const r of batch.records) frames.push(`${r.headers['fl-run']}/${r.headers['fl-seq']}`);
      await spool.ack(batch);
    }
    await spool.close();
    return frames;
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

function agentConfig(dir: string, framesTopic: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    camera: { id: 'CAMERA-7', source: 'synthetic', width: 160, height: 120, fps: 10 },
    kafka: { brokers: [broker.props['bootstrap.external']!], passwordFile: broker.props['sasl.agent.password.file'], caFile: broker.props['ssl.ca'], connectionTimeout: '3s' },
    topics: { frames: framesTopic, backfill: topics.backfill },
    delivery: { mode: 'reliable', backfill: 'inline', sendTimeout: '3s' },
    stateDir: join(dir, 'state'),
    ...extra,
  };
}

test('an agent whose frames topic the ACLs do not let it write stops: exit 77, topic and ACL named, frames kept in the spool and sent once granted', async () => {
  // The agent may describe this topic (so it connects and fetches metadata) but not write it.
  const refusedTopic = topics.inferences;
  await agentAcl(refusedTopic, [AclOperationTypes.DESCRIBE]);
  const dir = await mkdtemp(join(tmpdir(), 'fl-agent-acl-'));
  try {
    const configFile = join(dir, 'agent.json');
    await writeFile(configFile, JSON.stringify(agentConfig(dir, refusedTopic)));
    const first = runAgent(configFile);
    const code = await first.exited;
    const lines = first.log().split('\n');
    const refusal = lines.find((l) => /ERROR .*refused user "agent" writing/.test(l));
    const stopped = lines.find((l) => /\[agent\] stopped /.test(l)) ?? '';
    const spooled = await spooledFrames(join(dir, 'state', 'spool', 'CAMERA-7'));
    const dropped = Number(/dropped=(\d+)/.exec(stopped)?.[1] ?? NaN);
    console.log(`# agent refused Write: exit ${code}, ${spooled.length} frames left in the spool, dropped ${dropped}; ${refusal?.slice(0, 500)}`);
    assert.equal(code, EXIT_NOPERM, first.log().slice(-3000));
    assert.ok(refusal, first.log().slice(-3000));
    assert.match(refusal, new RegExp(`"${refusedTopic.replace(/\./g, '\\.')}"`));
    assert.match(refusal, /Produce request/);
    assert.match(refusal, new RegExp(`--allow-principal User:agent --operation Write --operation Describe --topic ${refusedTopic.replace(/\./g, '\\.')}`));
    assert.ok(!/broker unreachable/.test(first.log()), 'never called "broker unreachable"');
    assert.ok(!lines.some((l) => /^\s+at /.test(l)), 'no stack trace');
    assert.ok(spooled.length > 0, 'the refused frames are in the spool');
    assert.equal(dropped, 0, `no frame dropped: ${stopped}`);

    // The operator adds the ACL the message names and starts the agent again: the spool drains to the topic.
    await agentAcl(refusedTopic, [AclOperationTypes.WRITE]);
    const metricsPort = await freePort();
    await writeFile(configFile, JSON.stringify(agentConfig(dir, refusedTopic, { metrics: { listen: `127.0.0.1:${metricsPort}` } })));
    const second = runAgent(configFile);
    const metric = (name: string) => scrapeAgentMetric(metricsPort, name, `{camera="CAMERA-7"}`);
    await waitFor('the spool drained', async () => (await metric('spool_frames')) === 0 && (await metric('frames_backfilled_total')) >= spooled.length, 60_000, 250);
    second.kill('SIGTERM');
    assert.equal(await second.exited, 0, second.log().slice(-3000));
    const wanted = new Set(spooled);
    const records = await broker.readRecords(refusedTopic, {
      count: wanted.size,
      filter: (m) => wanted.has(`${String(m.headers?.['fl-run'])}/${String(m.headers?.['fl-seq'])}`),
      timeoutMs: 30_000,
    });
    const delivered = new Set(records.map(({ message }) => `${String(message.headers?.['fl-run'])}/${String(message.headers?.['fl-seq'])}`));
    const lost = [...wanted].filter((id) => !delivered.has(id));
    console.log(`# after the ACL was added: ${delivered.size} of the ${wanted.size} spooled frames delivered, lost ${lost.length}`);
    assert.deepEqual(lost, [], 'every spooled frame reached the topic once granted');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an agent that may not even describe its frames topic stops at connect: exit 77, topic and ACL named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-agent-acl-'));
  try {
    const configFile = join(dir, 'agent.json');
    // The agent has no ACL at all on the alerts topic.
    await writeFile(configFile, JSON.stringify(agentConfig(dir, topics.alerts, { delivery: { mode: 'live' } })));
    const agent = runAgent(configFile);
    const code = await agent.exited;
    const refusal = agent.log().split('\n').find((l) => /ERROR .*refused user "agent"/.test(l));
    console.log(`# agent refused Describe: exit ${code}; ${refusal?.slice(0, 400)}`);
    assert.equal(code, EXIT_NOPERM, agent.log().slice(-3000));
    assert.ok(refusal, agent.log().slice(-3000));
    assert.match(refusal, /Metadata request/);
    assert.match(refusal, new RegExp(`--operation Write --operation Describe --topic ${topics.alerts.replace(/\./g, '\\.')}`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a reliable agent whose user may write no topic at all is refused the idempotent producer: exit 77, cluster refusal and the ACL named', async () => {
  // A SCRAM user of the test's own with Describe on the topic and nothing else: Write on any topic would imply IdempotentWrite.
  const user = `noperm-${randomUUID().slice(0, 8)}`;
  const password = randomUUID();
  await broker.kafkaTool('kafka.admin.ConfigCommand', ['--bootstrap-server', '{bootstrap}', '--command-config', '{config}',
    '--alter', '--add-config', `SCRAM-SHA-512=[iterations=8192,password=${password}]`, '--entity-type', 'users', '--entity-name', user]);
  await agentAcl(topics.frames, [AclOperationTypes.DESCRIBE], user);
  const dir = await mkdtemp(join(tmpdir(), 'fl-agent-acl-'));
  try {
    const passwordFile = join(dir, 'password');
    await writeFile(passwordFile, password, { mode: 0o600 });
    const configFile = join(dir, 'agent.json');
    const config = agentConfig(dir, topics.frames);
    await writeFile(configFile, JSON.stringify({ ...config, kafka: { ...(config.kafka as object), username: user, passwordFile } }));
    const agent = runAgent(configFile);
    const code = await agent.exited;
    const refusal = agent.log().split('\n').find((l) => /ERROR .*refused user/.test(l));
    console.log(`# agent refused IdempotentWrite: exit ${code}; ${refusal?.slice(0, 500)}`);
    assert.equal(code, EXIT_NOPERM, agent.log().slice(-3000));
    assert.ok(refusal, agent.log().slice(-3000));
    assert.match(refusal, new RegExp(`user "${user}" the idempotent producer`));
    assert.match(refusal, /Cluster authorization failed|CLUSTER_AUTHORIZATION_FAILED/i);
    assert.match(refusal, new RegExp(`--allow-principal User:${user} --operation Write --operation Describe --topic ${topics.frames.replace(/\./g, '\\.')}`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
