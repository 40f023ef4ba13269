// Publishes inference records in the order they are handed in: one send at a
// time, each carrying everything queued meanwhile. A failed send is retried
// with capped backoff until it succeeds or the service stops, so no result is
// acknowledged (its offset committed) before the broker has it.
import type { Producer } from 'kafkajs';
import { createBackoff, within, type Logger } from '@frameline/shared';
import { serialiseRecord, type InferenceRecord } from './record.js';

export interface Publisher {
  /** Resolves once the records are acknowledged by the broker (acks=all). */
  publish(records: InferenceRecord[]): Promise<void>;
  /** Waits for queued records (up to timeoutMs), then stops retrying. */
  close(timeoutMs: number): Promise<void>;
}

interface Queued {
  record: InferenceRecord;
  resolve(): void;
  reject(e: Error): void;
}

const MAX_PER_SEND = 500;
/**
 * Results waiting for the broker. Inference keeps going while the results
 * topic refuses writes (a missing ACL, say); beyond this many, publish()
 * refuses, the frames stay uncommitted and are consumed again after the fix.
 */
const MAX_QUEUED = 2000;

export function createPublisher(producer: Producer, topic: string, logger: Logger): Publisher {
  const log = logger.child('publish');
  let queue: Queued[] = [];
  let sending: Promise<void> | undefined;
  let closed = false;

  async function loop(): Promise<void> {
    const backoff = createBackoff({ initialMs: 200, maxMs: 10_000, jitter: 0 });
    while (queue.length > 0) {
      const group = queue.slice(0, MAX_PER_SEND);
      const publishedAt = Date.now();
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: group.map((q) => {
            q.record.publishedAt = publishedAt;
            return { key: q.record.camera, value: serialiseRecord(q.record), timestamp: String(Math.floor(q.record.capturedAt)) };
          }),
        });
      } catch (err) {
        if (closed) {
          for (const q of queue) q.reject(new Error('publisher closed before the broker acknowledged the result'));
          queue = [];
          return;
        }
        const backoffMs = backoff.next();
        log.warn('publishing results failed; retrying', { records: group.length, inMs: backoffMs, error: err as Error });
        await new Promise((r) => setTimeout(r, backoffMs));
        continue;
      }
      backoff.reset();
      queue.splice(0, group.length);
      for (const q of group) q.resolve();
    }
  }

  const kick = () => {
    sending ??= loop().finally(() => {
      sending = undefined;
      if (queue.length > 0 && !closed) kick();
    });
  };

  return {
    publish(records) {
      if (closed) return Promise.reject(new Error('publisher is closed'));
      if (queue.length + records.length > MAX_QUEUED) {
        return Promise.reject(new Error(`${queue.length} results already wait for the broker to accept writes to ${topic}; refusing more until it does`));
      }
      const done = Promise.all(records.map((record) => new Promise<void>((resolve, reject) => queue.push({ record, resolve, reject }))));
      kick();
      return done.then(() => undefined);
    },
    async close(timeoutMs) {
      await within(sending ?? Promise.resolve(), timeoutMs);
      closed = true;
    },
  };
}
