// video.alerts keeps its own retention, in days (provision.mjs), not the
// frames' hours: set when the topic is created and again on an existing one.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import kafkajs from 'kafkajs';
import { REPO_ROOT, sharedBroker } from '@frameline/shared/testing';

const DAY_MS = 86_400_000;

test('provisioning gives the alerts topic retention in days (default 30, configurable, applied to an existing topic)', async () => {
  const broker = await sharedBroker();
  const topics = await broker.topics('alerts-retention');
  const prov = (await import(pathToFileURL(join(REPO_ROOT, 'deploy/kafka/provision.mjs')).href)) as typeof import('../../deploy/kafka/provision.mjs');
  const admin = broker.admin();
  await admin.connect();
  try {
    const retention = async (topic: string) => {
      const { resources } = await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: kafkajs.ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms'] }] });
      return Number(resources[0]!.configEntries.find((e) => e.configName === 'retention.ms')!.configValue);
    };
    assert.equal(await retention(topics.alerts), prov.DEFAULT_ALERTS_RETENTION_DAYS * DAY_MS);
    assert.ok(await retention(topics.frames) < DAY_MS, 'frames keep the broker default of hours');
    await prov.provision(admin, topics, 3, { alertsRetentionDays: 7 });
    assert.equal(await retention(topics.alerts), 7 * DAY_MS);
  } finally {
    await admin.disconnect();
  }
});
