// kafkajs errors in the words an operator needs: what happened and what to
// change. Used in logs, in status lines and by `doctor`.
import type { KafkaConnection } from './client.js';

export interface ExplainedError {
  /** Stable short reason for status lines and metrics labels. */
  reason: 'auth' | 'tls' | 'not-tls' | 'unreachable' | 'timeout' | 'authorization' | 'too-large' | 'unknown-topic' | 'other';
  message: string;
}

/**
 * An error and what it wraps, outermost first: kafkajs nests the error that
 * matters (a protocol type, the broker it was dialling) inside retry
 * wrappers, as `cause` or `originalError`.
 */
export function errorCauses(err: unknown, maxDepth = 8): unknown[] {
  const out: unknown[] = [];
  for (let e: unknown = err; e && out.length < maxDepth && !out.includes(e); ) {
    out.push(e);
    const x = e as { cause?: unknown; originalError?: unknown };
    e = x.cause ?? x.originalError;
  }
  return out;
}

function chain(err: unknown): string {
  return errorCauses(err, 5)
    .map((e) => {
      const x = e as { name?: string; message?: string; type?: string; code?: string };
      return [x.name, x.type, x.code, x.message].filter(Boolean).join(' ');
    })
    .join(' <- ');
}

export function explainKafkaError(err: unknown, conn: Pick<KafkaConnection, 'brokers' | 'security' | 'username'>): ExplainedError {
  const text = chain(err);
  const where = conn.brokers.join(',');
  if (/SASL.*authentication failed|SaslAuthenticationFailed|Authentication failed/i.test(text)) {
    return { reason: 'auth', message: `the broker at ${where} refused user "${conn.username}" (SASL SCRAM-SHA-512 authentication failed): check the username and the password file` };
  }
  if (/TOPIC_AUTHORIZATION_FAILED|GROUP_AUTHORIZATION_FAILED|CLUSTER_AUTHORIZATION_FAILED|not authorized/i.test(text)) {
    return { reason: 'authorization', message: `user "${conn.username}" is not allowed to do this on ${where} (ACL): ask for the ACLs in deploy/kafka/provision.mjs` };
  }
  if (/self[- ]signed|unable to verify|certificate|CERT_|ERR_TLS|altnames|SSL routines|wrong version number/i.test(text)) {
    if (conn.security === 'sasl_ssl') {
      return { reason: 'tls', message: `TLS handshake with ${where} failed (${text.slice(0, 160)}): check the CA file, the host name in the bootstrap address, and that this port is the TLS (EXTERNAL) listener` };
    }
  }
  if (/ECONNREFUSED/.test(text)) return { reason: 'unreachable', message: `nothing accepts connections at ${where} (connection refused): is the broker running and the port right?` };
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return { reason: 'unreachable', message: `cannot resolve the broker host in ${where} (DNS)` };
  if (/EHOSTUNREACH|ENETUNREACH/.test(text)) return { reason: 'unreachable', message: `no route to ${where}: check the network and the security group` };
  if (conn.security !== 'sasl_ssl' && /Closed connection|ECONNRESET|EPIPE|KafkaJSConnectionClosedError|socket hang up|Request .* timed out|Connection timeout/i.test(text)) {
    return { reason: 'not-tls', message: `${where} closed the connection or never answered a plain (non-TLS) request: this is probably the TLS (EXTERNAL) listener; use security "sasl_ssl" with the broker's CA file` };
  }
  if (/MESSAGE_TOO_LARGE|RECORD_LIST_TOO_LARGE|exceeds the batch limit/i.test(text)) {
    return { reason: 'too-large', message: `a record is larger than the broker accepts: ${text.slice(0, 200)}` };
  }
  if (/UNKNOWN_TOPIC|does not host this topic-partition|topic.*not.*exist/i.test(text)) {
    return { reason: 'unknown-topic', message: `the topic does not exist on ${where}: create it (deploy/kafka/kafka.sh up does) or fix the topic name` };
  }
  if (/timed? ?out|ETIMEDOUT/i.test(text)) return { reason: 'timeout', message: `${where} did not answer in time: network too slow or the broker overloaded` };
  return { reason: 'other', message: text.slice(0, 300) };
}
