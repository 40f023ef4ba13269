// Shared by the fleet tests: a topic set with the agents' status topic (and
// the runner's ACLs for it), and readers of the fleet's alerts and gauges.
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { TopicSet } from '@frameline/shared';
import { REPO_ROOT, type TestBroker } from '@frameline/shared/testing';
import type { FleetAlertRecord } from '../src/service.js';

export type FleetTopics = Required<TopicSet>;

/** broker.topics() plus `<prefix>.agents`, compacted, with the ACLs provision.mjs grants (agent: write; cloud: read). */
export async function fleetTopics(broker: TestBroker, prefix: string): Promise<FleetTopics> {
  const topics = await broker.topics(prefix);
  const all = { ...topics, agents: topics.frames.replace(/\.frames$/, '.agents') };
  const prov = (await import(pathToFileURL(join(REPO_ROOT, 'deploy/kafka/provision.mjs')).href)) as { provision(admin: unknown, topics: TopicSet, partitions: number): Promise<string[]> };
  const admin = broker.admin();
  await admin.connect();
  try {
    await prov.provision(admin, all, 3);
  } finally {
    await admin.disconnect();
  }
  return all;
}

/** The fleet alerts on the alerts topic: all of them, read from the beginning until `count` arrived (or timeoutMs), then settleMs more to catch duplicates. */
export async function fleetAlerts(broker: TestBroker, topic: string, count: number, settleMs: number, timeoutMs = 60_000): Promise<FleetAlertRecord[]> {
  const got = await broker.readRecords(topic, { count, filter: (m) => m.headers?.['fl-kind']?.toString().startsWith('agent-') ?? false, timeoutMs, settleMs });
  return got.map((r) => JSON.parse(r.message.value!.toString()) as FleetAlertRecord);
}

/** One gauge value from /metrics text, or undefined when the series is absent. */
export function gauge(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of metrics.split('\n')) {
    const m = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = m[2]!.split(',');
    if (want.every((w) => have.includes(w))) return Number(m[3]);
  }
  return undefined;
}
