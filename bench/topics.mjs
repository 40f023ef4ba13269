// The benches' broker (its own state and ports, so the demo and the tests
// are left alone) and fresh, uniquely named topic sets with the runner's ACLs.
import { join } from 'node:path';
import kafkajs from 'kafkajs';
import { adminClientConfig, provision } from '../deploy/kafka/provision.mjs';
import { ROOT } from '../scripts/lib.mjs';

// BENCH_KAFKA_PORT_BASE moves the three ports when another checkout's bench broker holds them.
const PORT = Number(process.env.BENCH_KAFKA_PORT_BASE ?? 39092);
export const BENCH_KAFKA_ENV = { FRAMELINE_KAFKA_DIR: join(ROOT, '.cache/kafka-bench'), KAFKA_INTERNAL_PORT: String(PORT), KAFKA_EXTERNAL_PORT: String(PORT + 1), KAFKA_CONTROLLER_PORT: String(PORT + 2), KAFKA_HEAP: '1g' };

export async function freshTopics(props, prefix) {
  const id = `${prefix}-${Date.now()}`;
  const topics = { frames: `${id}.frames`, backfill: `${id}.frames.backfill`, inferences: `${id}.inferences`, alerts: `${id}.alerts`, dlq: `${id}.dlq` };
  const admin = new kafkajs.Kafka(adminClientConfig(props)).admin();
  await admin.connect();
  await provision(admin, topics, 3);
  await admin.disconnect();
  return topics;
}
