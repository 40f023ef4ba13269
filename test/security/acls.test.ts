// The ACLs the broker runner grants (deploy/kafka/provision.mjs), probed
// with the agent's and the cloud's real credentials: the agent may write
// the frames and backfill topics and nothing else; the cloud may not write
// frames or change ACLs. Every refusal is an authorization error, and each
// allowed action passes, so the test can tell the two apart. Cost: ~15-30 s.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { authorizationDenial, createKafka, createLogger, type KafkaConnection, type TopicSet } from '@frameline/shared';
import { sharedBroker, type TestBroker } from '@frameline/shared/testing';

const run = promisify(execFile);
const logger = createLogger({ level: 'error', scope: 'test' });
let broker: TestBroker;
let topics: TopicSet;

before(async () => {
  broker = await sharedBroker();
  topics = await broker.topics('acls', 1);
});

const once = (conn: KafkaConnection): KafkaConnection => ({ ...conn, retry: { retries: 0, initialRetryTimeMs: 100, maxRetryTimeMs: 100 } });

async function outcome(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
    return 'allowed';
  } catch (err) {
    const denial = authorizationDenial(err);
    return denial ? `refused (${denial.resource})` : `failed otherwise: ${(err as Error).message}`;
  }
}

async function produce(conn: KafkaConnection, topic: string): Promise<string> {
  const producer = createKafka(once(conn), logger).producer({ allowAutoTopicCreation: false });
  await producer.connect();
  try {
    return await outcome(() => producer.send({ topic, acks: -1, messages: [{ key: 'CAMERA-1', value: 'acl probe', headers: { 'fl-probe': 'acl-test' } }] }));
  } finally {
    await producer.disconnect();
  }
}

/** Reads partition 0 with kcat (no consumer group), so only the topic's Read ACL is in play. */
async function readWithKcat(user: 'agent' | 'cloud', listener: 'internal' | 'external', topic: string): Promise<string> {
  try {
    const { stdout, stderr } = await run('kcat', ['-F', broker.kcatConfig(user, listener), '-C', '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q'], { timeout: 30_000 });
    return /authorization failed/i.test(stderr) ? 'refused (topic)' : `allowed (${stdout.length} bytes)`;
  } catch (err) {
    return /authorization failed/i.test(String((err as { stderr?: string }).stderr ?? err)) ? 'refused (topic)' : `failed otherwise: ${String(err).slice(0, 200)}`;
  }
}

async function withAdmin<T>(conn: KafkaConnection, body: (a: kafkajs.Admin) => Promise<T>): Promise<T> {
  const admin = createKafka(once(conn), logger).admin();
  await admin.connect();
  try {
    return await body(admin);
  } finally {
    await admin.disconnect();
  }
}

test('agent credentials: write frames and backfill only; no reading, no results or alerts, no topic changes', async () => {
  const agent = broker.connection('agent', 'external');
  const rows: Record<string, string> = {
    'write frames': await produce(agent, topics.frames),
    'write backfill': await produce(agent, topics.backfill),
    'write inferences': await produce(agent, topics.inferences),
    'write alerts': await produce(agent, topics.alerts),
    'write dlq': await produce(agent, topics.dlq),
    'read frames': await readWithKcat('agent', 'external', topics.frames),
    'read inferences': await readWithKcat('agent', 'external', topics.inferences),
    'create topic': await withAdmin(agent, (a) => outcome(() => a.createTopics({ topics: [{ topic: `${topics.frames}.agent-made`, numPartitions: 1 }] }))),
    'delete frames topic': await withAdmin(agent, (a) => outcome(() => a.deleteTopics({ topics: [topics.frames], timeout: 5000 }))),
  };
  console.table(rows);
  assert.equal(rows['write frames'], 'allowed');
  assert.equal(rows['write backfill'], 'allowed');
  for (const k of ['write inferences', 'write alerts', 'write dlq', 'read frames', 'read inferences', 'create topic', 'delete frames topic']) {
    assert.match(rows[k]!, /^refused/, `${k}: ${rows[k]}`);
  }
});

test('cloud credentials: read frames, write results; cannot write frames, delete topics or change ACLs', async () => {
  const cloud = broker.connection('cloud', 'internal');
  const acl = {
    resourceType: kafkajs.AclResourceTypes.TOPIC, resourceName: topics.frames, resourcePatternType: kafkajs.ResourcePatternTypes.LITERAL,
    principal: 'User:cloud', host: '*', operation: kafkajs.AclOperationTypes.WRITE, permissionType: kafkajs.AclPermissionTypes.ALLOW,
  };
  const rows: Record<string, string> = {
    'read frames': await readWithKcat('cloud', 'internal', topics.frames),
    'write inferences': await produce(cloud, topics.inferences),
    'write frames': await produce(cloud, topics.frames),
    'grant itself Write on frames': await withAdmin(cloud, (a) => outcome(() => a.createAcls({ acl: [acl] }))),
    'delete the agent ACLs': await withAdmin(cloud, (a) => outcome(() => a.deleteAcls({ filters: [{ ...acl, principal: 'User:agent', operation: kafkajs.AclOperationTypes.ANY }] }))),
    'delete frames topic': await withAdmin(cloud, (a) => outcome(() => a.deleteTopics({ topics: [topics.frames], timeout: 5000 }))),
  };
  console.table(rows);
  assert.match(rows['read frames']!, /^allowed/);
  assert.equal(rows['write inferences'], 'allowed');
  for (const k of ['write frames', 'grant itself Write on frames', 'delete the agent ACLs', 'delete frames topic']) {
    assert.match(rows[k]!, /^refused/, `${k}: ${rows[k]}`);
  }
});
