// What a failed send or connection attempt means for delivery, as a typed
// error (kafkajs's way: a `retriable` flag on the error). The backoff between
// connection attempts is shared's createBackoff.
import { authorizationDenial, classifyKafkaError, explainKafkaError, type AuthorizationDenial, type KafkaConnection, type RetriableError } from '@frameline/shared';

/**
 * A failed produce request, classified. `retriable`: the same records may
 * succeed once the connection is back (remedy `reconnect` or
 * `renew-producer`); not retriable: the records themselves were refused
 * (remedy `split`: resend fewer, or drop a lone record), or the ACLs
 * refused the request (remedy `refused`: nothing the agent does helps).
 */
export class SendError extends Error implements RetriableError {
  readonly retriable: boolean;
  constructor(
    message: string,
    readonly remedy: 'split' | 'reconnect' | 'renew-producer' | 'refused',
    /** kafkajs's innermost error type, e.g. MESSAGE_TOO_LARGE. */
    readonly type: string | undefined,
    options?: { cause?: unknown; denial?: AuthorizationDenial },
  ) {
    super(message, options);
    this.name = 'SendError';
    this.retriable = remedy !== 'split' && remedy !== 'refused';
    this.denial = options?.denial;
  }

  /** With remedy `refused`: what the authorizer refused. */
  readonly denial: AuthorizationDenial | undefined;
}

/**
 * Shared's classifyKafkaError, as delivery's remedy. An ACL refusal is not a
 * connection problem: retrying would spool forever under "broker unreachable".
 */
export function classifySendError(e: unknown, conn: KafkaConnection): SendError {
  const { kind, type } = classifyKafkaError(e);
  if (kind === 'records-rejected') return new SendError(`the broker rejected the records (${type})`, 'split', type, { cause: e });
  const denial = kind === 'authorization' ? authorizationDenial(e) : undefined;
  if (denial) return new SendError(`the broker's ACLs refused the request (${denial.detail})`, 'refused', type, { cause: e, denial });
  const message = explainKafkaError(e, conn).message;
  return new SendError(message, kind === 'producer-fenced' ? 'renew-producer' : 'reconnect', type, { cause: e });
}
