// Records that are not valid frames go to the dead-letter topic unchanged
// (key, value, timestamp, headers) with one header more: fl-error.
import type { IHeaders, Producer } from 'kafkajs';
import { H, type Logger } from '@frameline/shared';

export interface DeadLetterRecord {
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  headers?: IHeaders | Record<string, unknown> | undefined;
}

export interface DeadLetter {
  /** Resolves true once the DLQ has the record, false if it could not be sent (logged). */
  send(record: DeadLetterRecord, error: string, from: { topic: string; partition: number; offset: string }): Promise<boolean>;
}

export function createDeadLetter(producer: Producer | undefined, topic: string, logger: Logger): DeadLetter {
  const log = logger.child('dlq');
  return {
    async send(record, error, from) {
      if (!producer) {
        log.warn('invalid record skipped (DLQ disabled)', { ...from, error });
        return false;
      }
      const headers: IHeaders = { ...(record.headers as IHeaders | undefined), [H.error]: error };
      try {
        await producer.send({
          topic,
          acks: -1,
          messages: [{ key: record.key, value: record.value, timestamp: record.timestamp, headers }],
        });
        log.warn('invalid record sent to the DLQ', { ...from, dlq: topic, bytes: record.value?.length ?? 0, error });
        return true;
      } catch (err) {
        log.error('invalid record could not be sent to the DLQ; skipping it', { ...from, error, sendError: err as Error });
        return false;
      }
    },
  };
}
