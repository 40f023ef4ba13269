// The agent's connection to the broker: one kafkajs producer plus an admin
// client for topic metadata (partition counts). kafkajs retries internally;
// here those retries are capped so that a send fails within a few seconds
// and the caller spools or drops instead of waiting; reconnecting is the
// caller's loop (connection.ts), with jittered backoff (retry.ts).
import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { createKafka, type KafkaConnection, type Logger } from '@frameline/shared';

export type BrokerState = 'connected' | 'connecting' | 'down';

export interface LinkOptions {
  kafka: KafkaConnection;
  /** acks=all and kafkajs's idempotent producer (one request in flight). */
  reliable: boolean;
  topics: string[];
  requestTimeoutMs: number;
  connectionTimeoutMs: number;
  retries: number;
}

export interface Link {
  readonly state: BrokerState;
  /** One connection attempt: producer, admin and the topics' metadata. */
  connect(): Promise<boolean>;
  /** Partition count of a topic from the last metadata, if known. */
  partitions(topic: string): number | undefined;
  send(topic: string, messages: Message[]): Promise<void>;
  /** The broker failed a send: state `down` until the next connect(). */
  markDown(): void;
  /** A new producer (new producer id), after the broker forgot or fenced ours. */
  renewProducer(): Promise<void>;
  close(): Promise<void>;
}

export type KafkaFactory = (conn: KafkaConnection, logger: Logger) => Kafka;

export function createLink(options: LinkOptions, logger: Logger, factory: KafkaFactory = createKafka): Link {
  const retry = { retries: options.retries, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 };
  const kafka = factory(
    {
      ...options.kafka,
      requestTimeoutMs: options.requestTimeoutMs,
      connectionTimeoutMs: options.connectionTimeoutMs,
      retry,
    },
    logger,
  );
  const newProducer = (): Producer =>
    kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: options.reliable,
      // Ordering: a retried request must not overtake a later one.
      maxInFlightRequests: options.reliable ? 1 : undefined,
      retry: { retries: Math.max(1, options.retries), initialRetryTime: 100, maxRetryTime: 1000 },
    });
  let producer = newProducer();
  let admin: Admin | undefined;
  let state: BrokerState = 'down';
  let closed = false;
  const partitionCounts = new Map<string, number>();

  return {
    get state() {
      return state;
    },
    async connect() {
      if (closed) throw new Error('delivery is stopping');
      state = 'connecting';
      try {
        await producer.connect();
        admin ??= kafka.admin({ retry: { retries: options.retries, initialRetryTime: 100, maxRetryTime: 1000 } });
        await admin.connect();
        const md = await admin.fetchTopicMetadata({ topics: options.topics });
        for (const t of md.topics) partitionCounts.set(t.name, t.partitions.length);
        if (closed) {
          // close() ran while this attempt was under way: leave nothing connected.
          await Promise.allSettled([producer.disconnect(), admin.disconnect()]);
          throw new Error('delivery is stopping');
        }
        state = 'connected';
        return true;
      } catch (e) {
        state = 'down';
        throw e;
      }
    },
    partitions: (topic) => partitionCounts.get(topic),
    async send(topic, messages) {
      await producer.send({
        topic,
        messages,
        acks: options.reliable ? -1 : 1,
        timeout: options.requestTimeoutMs,
      });
    },
    markDown() {
      state = 'down';
    },
    async renewProducer() {
      const old = producer;
      producer = newProducer();
      await old.disconnect().catch(() => undefined);
      state = 'down';
    },
    async close() {
      closed = true;
      await Promise.allSettled([producer.disconnect(), admin?.disconnect()]);
      state = 'down';
    },
  };
}
