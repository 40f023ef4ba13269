// Publishes the agent's status to the compacted status topic (video.agents),
// keyed by camera id: every intervalMs, and at once when the broker state,
// camera state or last error changes.
//
// Its own small kafkajs producer (acks=all, not idempotent), so a status never
// waits behind frames or a spool drain. Bounded by construction: one slot
// holds the newest status not yet sent; a newer one replaces it (counted as
// superseded), so while the broker is away only the latest is kept, and it is
// the first status sent on reconnect. One more slot keeps the last unsent
// status of an outage (`spooling` or `dropping`) once the state moves on:
// when the frames' link comes back before this producer does, the agent is
// already `catching-up`, and without it the cloud would never see the outage.
import type { Kafka, Producer } from 'kafkajs';
import { createBackoff, createKafka, explainKafkaError, type AgentStatus, type KafkaConnection, type Logger } from '@frameline/shared';
import { createSignal, sleep } from '../delivery/signal.js';
import type { StatusTaker } from './agent-status.js';

const OUTAGE_STATES = new Set(['spooling', 'dropping']);

export interface StatusPublisherOptions {
  kafka: KafkaConnection;
  topic: string;
  /** Period of the regular status, ms. */
  intervalMs: number;
  /** How often the state is compared for changes, ms. Default 500. */
  changeCheckMs?: number;
  /** A status send not acknowledged by then fails. Default 5000. */
  sendTimeoutMs?: number;
  /** Reconnect backoff (jittered, doubling from initialMs up to maxMs). Default 250..5000. */
  reconnect?: { initialMs: number; maxMs: number };
}

export interface StatusPublisherStats {
  /** Status records the broker acknowledged. */
  sent: number;
  /** Statuses replaced by a newer one before they could be sent (broker away or slow). */
  superseded: number;
  /** Sends or connection attempts that failed. */
  failed: number;
  /** Statuses taken because the state changed (besides the regular ones). */
  changes: number;
  connected: boolean;
}

export interface StatusPublisher {
  /** Takes the first status at once and starts the timers; connects in the background. */
  start(): void;
  /** Takes a status now, with `patch` applied (e.g. a camera that failed to start), and puts it in the slot. */
  publishNow(patch?: Partial<Pick<AgentStatus, 'cameraState' | 'lastError'>>): void;
  /** Tries to send the status in the slot for at most `flushMs` (default 2000), then disconnects. */
  stop(flushMs?: number): Promise<void>;
  stats(): StatusPublisherStats;
}

export interface StatusPublisherDeps {
  logger: Logger;
  kafkaFactory?: (conn: KafkaConnection, logger: Logger) => Kafka;
}

export function createStatusPublisher(options: StatusPublisherOptions, taker: StatusTaker, deps: StatusPublisherDeps): StatusPublisher {
  const log = deps.logger.child('status', { topic: options.topic });
  const sendTimeoutMs = options.sendTimeoutMs ?? 5000;
  // Few internal retries: the slot is the retry, and it always holds the newest status.
  const kafka = (deps.kafkaFactory ?? createKafka)(
    { ...options.kafka, requestTimeoutMs: sendTimeoutMs, retry: { retries: 1, initialRetryTimeMs: 100, maxRetryTimeMs: 1000 } },
    deps.logger,
  );
  const backoff = createBackoff(options.reconnect ?? { initialMs: 250, maxMs: 5000 });
  const wake = createSignal();
  const stopSignal = createSignal();
  const counters: StatusPublisherStats = { sent: 0, superseded: 0, failed: 0, changes: 0, connected: false };
  let slot: AgentStatus | undefined;
  /** The last unsent status of an outage the slot's state has moved on from; sent just before it. */
  let previous: AgentStatus | undefined;
  /** The status of the send under way (still in the slot until acknowledged). */
  let sending: AgentStatus | undefined;
  let producer: Producer | undefined;
  let closing = false;
  let loop: Promise<void> | undefined;
  let warned = false;
  const timers: NodeJS.Timeout[] = [];

  function offer(status: AgentStatus): void {
    // One being sent is counted only if its send fails (it may still arrive).
    if (slot && slot !== sending) {
      if (OUTAGE_STATES.has(slot.broker) && slot.broker !== status.broker) {
        if (previous) counters.superseded++;
        previous = slot;
      } else {
        counters.superseded++;
      }
    }
    slot = status;
    wake.notify();
  }

  async function connect(): Promise<Producer> {
    const p = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, retry: { retries: 1, initialRetryTime: 100, maxRetryTime: 1000 } });
    try {
      await p.connect();
    } catch (e) {
      await p.disconnect().catch(() => undefined);
      throw e;
    }
    return p;
  }

  async function sendSlot(p: Producer, status: AgentStatus): Promise<void> {
    sending = status;
    const before = previous;
    // Same key, one request: the partition keeps the previous state before the newest.
    const batch = before ? [before, status] : [status];
    try {
      await p.send({
        topic: options.topic,
        acks: -1,
        timeout: sendTimeoutMs,
        messages: batch.map((s) => ({ key: s.camera, value: JSON.stringify(s), timestamp: String(s.at) })),
      });
    } catch (e) {
      if (slot !== status) counters.superseded++;
      throw e;
    } finally {
      sending = undefined;
    }
    counters.sent += batch.length;
    if (previous === before) previous = undefined;
    if (slot === status) slot = undefined;
  }

  async function failed(e: unknown, what: string): Promise<void> {
    counters.failed++;
    counters.connected = false;
    const old = producer;
    producer = undefined;
    await old?.disconnect().catch(() => undefined);
    // Once per outage at warn; the frames' own connection loop reports the outage too.
    (warned ? log.debug : log.warn)(`${what} failed; keeping the latest status and trying again`, {
      error: explainKafkaError(e, options.kafka).message,
      superseded: counters.superseded,
    });
    warned = true;
    if (!closing) await sleep(backoff.next(), stopSignal);
  }

  async function run(): Promise<void> {
    while (!closing) {
      const gen = wake.generation;
      const status = slot;
      if (!status) {
        await wake.wait(gen);
        continue;
      }
      if (!producer) {
        try {
          producer = await connect();
        } catch (e) {
          await failed(e, 'connecting for status records');
          continue;
        }
        if (closing) {
          // stop() ran while this attempt was under way: leave nothing connected.
          await producer.disconnect().catch(() => undefined);
          producer = undefined;
          break;
        }
        counters.connected = true;
      }
      try {
        // The slot may have been replaced while connecting: send what is newest now.
        await sendSlot(producer, slot ?? status);
        backoff.reset();
        if (warned) log.info('status records flowing again', { superseded: counters.superseded });
        warned = false;
      } catch (e) {
        await failed(e, 'sending a status record');
      }
    }
  }

  return {
    start() {
      if (loop) throw new Error('status publisher already started');
      let lastKey = taker.stateKey();
      offer(taker.take());
      loop = run();
      timers.push(setInterval(() => offer(taker.take()), options.intervalMs));
      timers.push(setInterval(() => {
        const key = taker.stateKey();
        if (key === lastKey) return;
        lastKey = key;
        counters.changes++;
        offer(taker.take());
      }, options.changeCheckMs ?? 500));
      for (const t of timers) t.unref();
    },
    publishNow(patch = {}) {
      offer({ ...taker.take(), ...patch });
    },
    async stop(flushMs = 2000) {
      for (const t of timers) clearInterval(t);
      // A short, bounded chance for the last status; a status is not worth delaying a shutdown for long.
      const deadline = Date.now() + flushMs;
      while (slot && Date.now() < deadline) await sleep(50);
      closing = true;
      wake.notify();
      stopSignal.notify();
      await Promise.race([loop, sleep(Math.max(0, deadline - Date.now()))]);
      await producer?.disconnect().catch(() => undefined);
      producer = undefined;
      counters.connected = false;
    },
    stats: () => ({ ...counters }),
  };
}
