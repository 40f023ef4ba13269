// What a failed send or connection attempt means for delivery, as a typed
// error (kafkajs's way: a `retriable` flag on the error). The backoff between
// connection attempts is shared's createBackoff.
import { errorCauses, explainKafkaError, type KafkaConnection, type RetriableError } from '@frameline/shared';

/** The broker rejected the records themselves: a smaller batch or dropping the record helps, reconnecting does not. */
const RECORD_REJECTIONS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);
/** The broker no longer knows our idempotent producer id: start a new one. */
const PRODUCER_FENCED = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

/**
 * A failed produce request, classified. `retriable`: the same records may
 * succeed once the connection is back (remedy `reconnect` or
 * `renew-producer`); not retriable: the records themselves were refused
 * (remedy `split`: resend fewer, or drop a lone record).
 */
export class SendError extends Error implements RetriableError {
  readonly retriable: boolean;
  constructor(
    message: string,
    readonly remedy: 'split' | 'reconnect' | 'renew-producer',
    /** kafkajs's innermost error type, e.g. MESSAGE_TOO_LARGE. */
    readonly type: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SendError';
    this.retriable = remedy !== 'split';
  }
}

export function classifySendError(e: unknown, conn: KafkaConnection): SendError {
  const type = kafkaErrorType(e);
  if (type && RECORD_REJECTIONS.has(type)) return new SendError(`the broker rejected the records (${type})`, 'split', type, { cause: e });
  const message = explainKafkaError(e, conn).message;
  return new SendError(message, type && PRODUCER_FENCED.has(type) ? 'renew-producer' : 'reconnect', type, { cause: e });
}

/** The innermost kafkajs error type (e.g. MESSAGE_TOO_LARGE), through retry wrappers. */
export function kafkaErrorType(e: unknown): string | undefined {
  const type = errorCauses(e).map((c) => (c as { type?: unknown }).type).find((t) => typeof t === 'string');
  return type as string | undefined;
}
