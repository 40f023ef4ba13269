// A fresh, uniquely named topic set with the runner's ACLs, for one bench run.
import kafkajs from 'kafkajs';
import { adminClientConfig, provision } from '../deploy/kafka/provision.mjs';

export async function freshTopics(props, prefix) {
  const id = `${prefix}-${Date.now()}`;
  const topics = { frames: `${id}.frames`, backfill: `${id}.frames.backfill`, inferences: `${id}.inferences`, alerts: `${id}.alerts`, dlq: `${id}.dlq` };
  const admin = new kafkajs.Kafka(adminClientConfig(props)).admin();
  await admin.connect();
  await provision(admin, topics, 3);
  await admin.disconnect();
  return topics;
}
