// Whether a failed Kafka request may succeed if tried again, decided in one
// place: the broker refused the records themselves, or the producer id, or
// the ACLs; anything else is the connection's and passes with time.
import { authorizationDenial } from './authorization.js';
import { errorCauses } from './errors.js';

/** The broker rejected the records themselves: a smaller batch or dropping the record helps, resending them does not. */
const RECORD_REJECTIONS = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);
/** The broker no longer knows our idempotent producer id: a new producer helps. */
const PRODUCER_FENCED = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);

export interface KafkaFailure {
  /**
   * records-rejected: these records will never be accepted; producer-fenced:
   * retry with a new producer; authorization: an ACL refuses it until an
   * operator grants it; connection: anything else (network, leadership, timeouts).
   */
  kind: 'records-rejected' | 'producer-fenced' | 'authorization' | 'connection';
  /** kafkajs's innermost error type (e.g. MESSAGE_TOO_LARGE), when it has one. */
  type: string | undefined;
  /** The same request may succeed later without anyone changing anything. */
  retriable: boolean;
}

/** The innermost kafkajs error type (e.g. MESSAGE_TOO_LARGE), through retry wrappers. */
function kafkaErrorType(e: unknown): string | undefined {
  const type = errorCauses(e).map((c) => (c as { type?: unknown }).type).find((t) => typeof t === 'string');
  return type as string | undefined;
}

export function classifyKafkaError(e: unknown): KafkaFailure {
  const type = kafkaErrorType(e);
  if (type && RECORD_REJECTIONS.has(type)) return { kind: 'records-rejected', type, retriable: false };
  if (type && PRODUCER_FENCED.has(type)) return { kind: 'producer-fenced', type, retriable: true };
  if (authorizationDenial(e)) return { kind: 'authorization', type, retriable: false };
  return { kind: 'connection', type, retriable: true };
}
