// Reads the agents' status topic from its beginning and keeps following it.
// The topic is compacted, so its beginning holds the latest status of every
// agent (plus the recent history not yet compacted).
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import { parseAgentStatus, within, type AgentStatus, type Logger } from '@frameline/shared';

export interface StatusReaderOptions {
  kafka: Kafka;
  topic: string;
  /** The service's kafka.groupId: the ACLs grant the cloud user groups under the "frameline-" prefix. */
  groupPrefix: string;
  logger: Logger;
  /** A valid status; `timestamp` is the record's (epoch ms). */
  onStatus(status: AgentStatus, timestamp: number): void;
  /** A tombstone (null value): the agent was retired. */
  onRemove(camera: string): void;
  /** A record that is not a valid status; `reason` in operator words. */
  onInvalid(reason: string): void;
}

export interface StatusReader {
  start(): Promise<void>;
  /** True once every record that was on the topic at start has been read. */
  loaded(): boolean;
  /** Epoch ms of the last fetch answered by the broker (one every fraction of a second while it is reachable). */
  lastFetchAt(): number;
  stop(): Promise<void>;
}

export function createStatusReader(o: StatusReaderOptions): StatusReader {
  const log = o.logger.child('fleet');
  // Every instance needs the whole fleet, and a shared group would split the
  // partitions among instances: so a group of its own per instance, named under
  // the service's group id (the ACLs grant the cloud user the "frameline-"
  // prefix and nothing else). No offsets are committed: each start reads the
  // compacted topic from its beginning, and the broker drops the empty group.
  const groupId = `${o.groupPrefix}-fleet-${randomUUID().slice(0, 8)}`;
  // After a broker outage the reader restarts within seconds (kafkajs waits up to maxRetryTime), so the view is fresh again soon.
  // A crash restarts the reader only while it should run: a restart after stop() would keep retrying a gone broker and the process alive.
  const consumer: Consumer = o.kafka.consumer({
    groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 250,
    retry: { initialRetryTime: 300, maxRetryTime: 3000, retries: 8, restartOnFailure: async () => running },
  });
  /** partition -> last offset present at start, still to be read. */
  const toLoad = new Map<number, number>();
  /**
   * partition -> highest offset taken. With no committed offsets, a consumer
   * that restarts (after a broker outage) reads the topic from its beginning
   * again: those records are history already taken, and would flip the view
   * back through old states.
   */
  const taken = new Map<number, number>();
  let isLoaded = false;
  let running = false;
  let lastFetchAt = 0;
  consumer.on(consumer.events.FETCH, () => void (lastFetchAt = Date.now()));
  consumer.on(consumer.events.CRASH, (e) => {
    const message = 'the status reader failed; the fleet view stops updating until it is back (no agent is judged offline meanwhile)';
    if (e.payload.restart) log.warn(message, { error: e.payload.error });
    else log.error(message, { error: e.payload.error });
  });

  function take(partition: number, offset: string, key: Buffer | null, value: Buffer | null, timestamp: string): void {
    if (Number(offset) <= (taken.get(partition) ?? -1)) return;
    taken.set(partition, Number(offset));
    try {
      handle(key, value, timestamp);
    } finally {
      // after the record: the last one present at start still counts as history
      const last = toLoad.get(partition);
      if (last !== undefined && Number(offset) >= last) {
        toLoad.delete(partition);
        if (toLoad.size === 0 && !isLoaded) {
          isLoaded = true;
          log.info('fleet loaded from the status topic', { topic: o.topic });
        }
      }
    }
  }

  function handle(key: Buffer | null, value: Buffer | null, timestamp: string): void {
    const camera = key?.toString('utf8') ?? '';
    if (value === null) {
      if (camera) o.onRemove(camera);
      return;
    }
    const status = parseAgentStatus(value);
    if (typeof status === 'string') return o.onInvalid(status);
    if (status.camera !== camera) return o.onInvalid(`record key "${camera.slice(0, 64)}" is not the status's camera ${status.camera}`);
    o.onStatus(status, Number(timestamp));
  }

  return {
    async start() {
      const admin = o.kafka.admin();
      await admin.connect();
      try {
        for (const p of await admin.fetchTopicOffsets(o.topic)) {
          if (Number(p.high) > Number(p.low)) toLoad.set(p.partition, Number(p.high) - 1);
        }
      } finally {
        await admin.disconnect();
      }
      isLoaded = toLoad.size === 0;
      await consumer.connect();
      await consumer.subscribe({ topics: [o.topic], fromBeginning: true });
      running = true;
      await consumer.run({
        autoCommit: false,
        eachMessage: async ({ partition, message }) => take(partition, message.offset, message.key, message.value, message.timestamp),
      });
    },
    loaded: () => isLoaded,
    lastFetchAt: () => lastFetchAt,
    async stop() {
      if (!running) return;
      running = false;
      // Bounded: leaving the group waits on a coordinator that may be gone.
      await within(consumer.disconnect().catch((err: Error) => log.warn('status reader stop failed', { error: err })), 10_000);
    },
  };
}
