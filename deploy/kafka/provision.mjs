// Creates frameline's topics and ACLs on a running broker (idempotent).
// CLI: node provision.mjs <client.properties> [partitions]
// Also imported by the tests, which provision their own uniquely named topic
// sets with exactly the ACLs the runner grants.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';

const { Kafka, logLevel, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;

/** The topic names, from the one list agent and cloud read too (no build needed). */
export const DEFAULT_TOPICS = JSON.parse(readFileSync(new URL('../../shared/topics.json', import.meta.url), 'utf8'));

/** Reads the runner's key=value client.properties. */
export function readClientProperties(file) {
  const props = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([^#=\s][^=]*)=(.*)$/.exec(line.trim());
    if (m) props[m[1]] = m[2];
  }
  return props;
}

export function adminClientConfig(props, clientId = 'frameline-provision') {
  return {
    clientId,
    brokers: [props['bootstrap.internal']],
    sasl: {
      mechanism: 'scram-sha-512',
      username: props['sasl.admin.username'],
      password: readFileSync(props['sasl.admin.password.file'], 'utf8').trim(),
    },
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  };
}

/** Who may do what: agents write frames, the cloud reads them and writes results. */
export function aclsFor(topics, groupPrefix = 'frameline-') {
  const topic = (name, principal, ops) =>
    ops.map((operation) => ({
      resourceType: AclResourceTypes.TOPIC, resourceName: name,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${principal}`, host: '*', operation,
      permissionType: AclPermissionTypes.ALLOW,
    }));
  const { READ, WRITE, DESCRIBE } = AclOperationTypes;
  return [
    ...topic(topics.frames, 'agent', [WRITE, DESCRIBE]),
    ...topic(topics.backfill, 'agent', [WRITE, DESCRIBE]),
    ...topic(topics.frames, 'cloud', [READ, DESCRIBE]),
    ...topic(topics.backfill, 'cloud', [READ, DESCRIBE]),
    ...topic(topics.inferences, 'cloud', [READ, WRITE, DESCRIBE]),
    ...topic(topics.alerts, 'cloud', [READ, WRITE, DESCRIBE]),
    ...topic(topics.dlq, 'cloud', [READ, WRITE, DESCRIBE]),
    {
      resourceType: AclResourceTypes.GROUP, resourceName: groupPrefix,
      resourcePatternType: ResourcePatternTypes.PREFIXED,
      principal: 'User:cloud', host: '*', operation: READ,
      permissionType: AclPermissionTypes.ALLOW,
    },
  ];
}

/** Creates the topic set (frame topics with one partition per camera) and its ACLs. */
export async function provision(admin, topics = DEFAULT_TOPICS, partitions = 3) {
  const existing = new Set(await admin.listTopics());
  const wanted = [
    { topic: topics.frames, numPartitions: partitions },
    { topic: topics.backfill, numPartitions: partitions },
    { topic: topics.inferences, numPartitions: partitions },
    { topic: topics.alerts, numPartitions: partitions },
    { topic: topics.dlq, numPartitions: 1 },
  ].filter((t) => !existing.has(t.topic));
  if (wanted.length > 0) {
    await admin.createTopics({
      topics: wanted.map((t) => ({ ...t, replicationFactor: 1 })),
      waitForLeaders: true,
    });
  }
  const acls = aclsFor(topics);
  await admin.createAcls({ acl: acls });
  await waitForAcls(admin, topics.frames, acls.filter((a) => a.resourceName === topics.frames).length);
  return wanted.map((t) => t.topic);
}

// ACLs reach the authorizer through the metadata log a moment after
// createAcls returns; a client that writes at once would be refused.
async function waitForAcls(admin, topic, expected) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const { resources } = await admin.describeAcls({
      resourceType: AclResourceTypes.TOPIC, resourceName: topic,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
    });
    const count = resources.reduce((n, r) => n + r.acls.length, 0);
    if (count >= expected) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`ACLs for ${topic} did not become visible within 15 s`);
}

async function waitForBroker(admin, deadlineMs) {
  let lastError;
  while (Date.now() < deadlineMs) {
    try {
      await admin.connect();
      await admin.describeCluster();
      return;
    } catch (err) {
      lastError = err;
      await admin.disconnect().catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`broker not ready: ${lastError?.message ?? 'timeout'}`);
}

async function main() {
  const [file, partitionsArg] = process.argv.slice(2);
  const props = readClientProperties(file);
  const admin = new Kafka(adminClientConfig(props)).admin();
  await waitForBroker(admin, Date.now() + 120_000);
  try {
    const created = await provision(admin, DEFAULT_TOPICS, Number(partitionsArg ?? 3));
    console.error(`kafka.sh: topics ${created.length ? `created: ${created.join(', ')}` : 'already present'}; ACLs applied`);
  } finally {
    await admin.disconnect();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(`kafka.sh: provisioning failed: ${err.message}`);
    process.exit(1);
  });
}
