// Refusals by the broker's authorizer (ACLs). Retrying cannot fix them, and
// kafkajs often hides them: a consumer whose group is not allowed crashes
// with "Failed to find group coordinator", the real cause only in the log
// line of the response. So they are recognised in both places: an error's
// chain, and kafkajs's "Response <Api>(...)" error log entries.
import { errorCauses } from './errors.js';

/** sysexits.h EX_NOPERM: the broker refused an operation the ACLs do not grant. */
export const EXIT_NOPERM = 77;

export type DeniedResource = 'group' | 'topic' | 'cluster' | 'transactional-id';

export interface AuthorizationDenial {
  resource: DeniedResource;
  /** The Kafka API that was refused (Produce, Fetch, FindCoordinator/GroupCoordinator, …), when known. */
  api?: string;
  /** The broker's words. */
  detail: string;
}

const KINDS: [RegExp, DeniedResource][] = [
  [/GROUP_AUTHORIZATION_FAILED|group authorization failed/i, 'group'],
  [/TOPIC_AUTHORIZATION_FAILED|topic authorization failed/i, 'topic'],
  [/CLUSTER_AUTHORIZATION_FAILED|cluster authorization failed/i, 'cluster'],
  [/TRANSACTIONAL_ID_AUTHORIZATION_FAILED|transactional id authorization failed/i, 'transactional-id'],
];

function kindOf(text: string): DeniedResource | undefined {
  return KINDS.find(([re]) => re.test(text))?.[1];
}

/** The refusal somewhere in `err`'s chain or its aggregated errors (kafkajs wraps protocol errors in retry errors), if any. */
export function authorizationDenial(err: unknown): AuthorizationDenial | undefined {
  // kafkajs aggregates per-topic failures (createTopics, say) in `errors`.
  const all = errorCauses(err).flatMap((e) => [e, ...(((e as { errors?: unknown[] }).errors ?? []).slice(0, 20))]);
  for (const e of all) {
    const x = e as { type?: string; message?: string };
    const resource = kindOf(`${x.type ?? ''} ${x.message ?? ''}`);
    if (resource) return { resource, detail: x.message ?? x.type ?? resource };
  }
  return undefined;
}

/** A refusal reported in a kafkajs connection log entry ("Response Produce(key: 0, version: 7)", error: "..."). */
export function denialFromLogEntry(message: string, fields: Record<string, unknown>): AuthorizationDenial | undefined {
  const error = typeof fields.error === 'string' ? fields.error : '';
  const resource = kindOf(error);
  if (!resource) return undefined;
  const api = /^Response (\w+)\(/.exec(message)?.[1];
  return { resource, ...(api ? { api } : {}), detail: error };
}
