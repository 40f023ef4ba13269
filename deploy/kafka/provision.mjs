// Creates frameline's topics and ACLs on a running broker (idempotent).
// CLI: [ALERTS_RETENTION_DAYS=30] node provision.mjs <client.properties> [partitions [replication-factor min-insync-replicas]]
// Runs wherever the broker is brought up (kafka.sh locally, ec2-bootstrap.sh on
// EC2), so the ACLs the tests check are the ones deployed.
// Also imported by the tests, which provision their own uniquely named topic
// sets with exactly the ACLs the runner grants.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import kafkajs from 'kafkajs';

const { Kafka, logLevel, ConfigResourceTypes, AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajs;

/**
 * The topic names: the one list (shared/topics.json) that agent and cloud read
 * too. topics.json beside this file links to it, so the folder Terraform ships
 * to a broker host carries the list without the rest of the checkout.
 */
export const DEFAULT_TOPICS = JSON.parse(readFileSync(new URL('./topics.json', import.meta.url), 'utf8'));

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
    brokers: props['bootstrap.internal'].split(','),
    sasl: {
      mechanism: 'scram-sha-512',
      username: props['sasl.admin.username'],
      password: readFileSync(props['sasl.admin.password.file'], 'utf8').trim(),
    },
    logLevel: logLevel.NOTHING,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  };
}

/**
 * Who may do what: agents write frames (and their status, when the topic set
 * has one), the cloud reads them and writes results.
 */
export function aclsFor(topics, groupPrefix = 'frameline-') {
  const topic = (name, principal, ops) =>
    ops.map((operation) => ({
      resourceType: AclResourceTypes.TOPIC, resourceName: name,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: `User:${principal}`, host: '*', operation,
      permissionType: AclPermissionTypes.ALLOW,
    }));
  const { READ, WRITE, DESCRIBE } = AclOperationTypes;
  const status = topics.agents ? [topics.agents] : [];
  return [
    ...[topics.frames, topics.backfill, ...status].flatMap((t) => topic(t, 'agent', [WRITE, DESCRIBE])),
    ...[topics.frames, topics.backfill, ...status].flatMap((t) => topic(t, 'cloud', [READ, DESCRIBE])),
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

/** Alerts are a history people look back on: days, not the frames' hours. */
export const DEFAULT_ALERTS_RETENTION_DAYS = 30;

/**
 * Creates the topic set (frame topics with one partition per camera; the
 * agents' status topic compacted, one record per camera kept) and its ACLs.
 * options: replication `factor` and `minInsync` (default 1 and 1: one broker);
 * `alertsRetentionDays` sets retention.ms of the alerts topic (also on an
 * existing one).
 */
export async function provision(admin, topics = DEFAULT_TOPICS, partitions = 3, { factor = 1, minInsync = 1, alertsRetentionDays = DEFAULT_ALERTS_RETENTION_DAYS } = {}) {
  const alertsRetention = { name: 'retention.ms', value: String(Math.round(alertsRetentionDays * 86_400_000)) };
  const existing = new Set(await admin.listTopics());
  const minIsr = { name: 'min.insync.replicas', value: String(minInsync) };
  const wanted = [
    { topic: topics.frames, numPartitions: partitions },
    { topic: topics.backfill, numPartitions: partitions },
    { topic: topics.inferences, numPartitions: partitions },
    { topic: topics.alerts, numPartitions: partitions, configEntries: [alertsRetention] },
    { topic: topics.dlq, numPartitions: 1 },
    ...(topics.agents ? [{ topic: topics.agents, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] : []),
  ].filter((t) => !existing.has(t.topic));
  if (wanted.length > 0) {
    try {
      await admin.createTopics({
        topics: wanted.map((t) => ({ ...t, replicationFactor: factor, configEntries: [...(t.configEntries ?? []), minIsr] })),
        waitForLeaders: true,
      });
    } catch (err) {
      // kafkajs waits for leaders but gives up on UNKNOWN_TOPIC_OR_PARTITION while
      // the new topics' metadata spreads (seen on a loaded machine): wait here instead
      if (!err.retriable) throw err;
      await waitForTopics(admin, wanted.map((t) => t.topic));
    }
  }
  if (existing.has(topics.alerts)) {
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: topics.alerts, configEntries: [alertsRetention] }] });
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

async function waitForTopics(admin, topics) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const { topics: found } = await admin.fetchTopicMetadata({ topics });
      if (found.every((t) => t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (!err.retriable || Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`topics ${topics.join(', ')} have no leaders after 15 s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until `brokers` brokers are registered (a replicated topic needs them all). */
async function waitForBroker(admin, deadlineMs, brokers = 1) {
  let lastError;
  while (Date.now() < deadlineMs) {
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      if (cluster.brokers.length >= brokers) return;
      lastError = new Error(`${cluster.brokers.length} of ${brokers} brokers registered`);
      await new Promise((r) => setTimeout(r, 500));
      continue;
    } catch (err) {
      lastError = err;
      await admin.disconnect().catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  throw new Error(`broker not ready: ${lastError?.message ?? 'timeout'}`);
}

// The caller's name on progress lines (kafka.sh or ec2-bootstrap).
const tag = process.env.FRAMELINE_LOG_TAG ?? 'kafka.sh';

async function main() {
  const [file, partitionsArg, factorArg, minIsrArg] = process.argv.slice(2);
  const days = Number(process.env.ALERTS_RETENTION_DAYS ?? DEFAULT_ALERTS_RETENTION_DAYS);
  if (!(days > 0)) throw new Error(`ALERTS_RETENTION_DAYS must be a number of days > 0, got "${process.env.ALERTS_RETENTION_DAYS}"`);
  const props = readClientProperties(file);
  const replication = { factor: Number(factorArg ?? 1), minInsync: Number(minIsrArg ?? 1) };
  const admin = new Kafka(adminClientConfig(props)).admin();
  // FRAMELINE_PROVISION_WAIT_S: on EC2 the other brokers of a cluster may still be installing.
  await waitForBroker(admin, Date.now() + Number(process.env.FRAMELINE_PROVISION_WAIT_S ?? 120) * 1000, replication.factor);
  try {
    // Right after a cluster forms, metadata may lag behind a topic's creation
    // ("does not host this topic-partition"); a second pass finds it complete.
    const created = [];
    for (let attempt = 1; ; attempt++) {
      try {
        created.push(...(await provision(admin, DEFAULT_TOPICS, Number(partitionsArg ?? 3), { ...replication, alertsRetentionDays: days })));
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 1000 * attempt));
      }
    }
    console.error(`${tag}: topics ${created.length ? `created: ${created.join(', ')}` : 'already present'}; ACLs applied`);
  } finally {
    await admin.disconnect();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err) => {
    console.error(`${tag}: provisioning failed: ${err.message}`);
    process.exit(1);
  });
}
