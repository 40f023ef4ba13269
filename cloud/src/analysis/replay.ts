/**
 * Reads back the recent tail of topics at start: the results published in
 * the last seconds (to rebuild tracks and open events) and the alerts already
 * published (to never publish an alert key twice). kafkajs has no manual
 * partition assignment, so a throwaway consumer group gets its start offsets
 * set by time before it joins, reads up to the high watermarks and leaves.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from '@frameline/shared';

export interface TailOptions {
  kafka: Kafka;
  /** Prefix of the throwaway group (the broker's ACLs allow "frameline-"). */
  groupPrefix: string;
  topics: string[];
  /** Epoch ms: read records with timestamps from here on. */
  since: number;
  /** Give up (keeping what arrived) after this long. */
  timeoutMs: number;
  /** Most records kept per topic; the oldest beyond it are dropped. */
  maxRecords: number;
  logger: Logger;
}

/** Records per topic, in offset order per partition (partitions one after another). */
export async function readTail(o: TailOptions): Promise<Map<string, KafkaMessage[]>> {
  const log = o.logger.child('replay');
  const out = new Map<string, KafkaMessage[]>(o.topics.map((t) => [t, []]));
  const groupId = `${o.groupPrefix}-replay-${randomUUID().slice(0, 8)}`;
  const admin = o.kafka.admin();
  await admin.connect();
  const remaining = new Map<string, number>(); // "topic/partition" -> last offset to read
  try {
    for (const topic of o.topics) {
      const [from, high] = await Promise.all([admin.fetchTopicOffsetsByTimestamp(topic, o.since), admin.fetchTopicOffsets(topic)]);
      const partitions = from.map((f) => {
        const h = Number(high.find((x) => x.partition === f.partition)!.high);
        const start = Number(f.offset) < 0 ? h : Number(f.offset);
        if (start < h) remaining.set(`${topic}/${f.partition}`, h - 1);
        return { partition: f.partition, offset: String(start) };
      });
      if (partitions.some((p) => remaining.has(`${topic}/${p.partition}`))) await admin.setOffsets({ groupId, topic, partitions });
    }
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0) return out;
  const consumer = o.kafka.consumer({ groupId, allowAutoTopicCreation: false });
  let timer: NodeJS.Timeout | undefined;
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: o.topics });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => {
        log.warn('reading back recent records timed out; going on with what arrived', { topics: o.topics, missingPartitions: [...remaining.keys()] });
        resolve();
      }, o.timeoutMs);
      consumer.run({
        autoCommit: false,
        eachMessage: async ({ topic, partition, message }) => {
          const id = `${topic}/${partition}`;
          const last = remaining.get(id);
          if (last === undefined) return;
          const list = out.get(topic)!;
          list.push(message);
          if (list.length > o.maxRecords) list.shift();
          if (Number(message.offset) >= last) remaining.delete(id);
          if (remaining.size === 0) resolve();
        },
      }).catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => {});
  }
  return out;
}
