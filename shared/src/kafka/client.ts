// kafkajs clients for the three ways frameline talks to a broker:
// PLAINTEXT (tests of foreign producers only), SASL_PLAINTEXT (INTERNAL
// listener, inside the VPC) and SASL_SSL (EXTERNAL listener, the Pis).
import { readFileSync } from 'node:fs';
import kafkajs from 'kafkajs';
import type { Kafka as KafkaClient, KafkaConfig, logCreator } from 'kafkajs';
import type { Logger } from '../log/logger.js';
import type { Secret } from '../config/secret.js';
import { denialFromLogEntry, type AuthorizationDenial } from './authorization.js';
import { applyKafkajsFastPath } from './kafkajs-fast-path.js';

const { Kafka, logLevel } = kafkajs;

export type SecurityProtocol = 'plaintext' | 'sasl_plaintext' | 'sasl_ssl';

export interface KafkaConnection {
  brokers: string[];
  clientId: string;
  security: SecurityProtocol;
  username?: string;
  password?: Secret | null;
  /** PEM CA bundle for the broker's certificate; system CAs when empty. */
  caFile?: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  retry?: { retries: number; initialRetryTimeMs: number; maxRetryTimeMs: number };
}

/** kafkajs warns about this on every idempotent producer with capped retries, which the agent caps on purpose. */
const EXPECTED_NOISE = /Limiting retries for the idempotent producer/;
const REPEAT_WINDOW_MS = 60_000;
const REMEMBERED_MESSAGES = 200;

/**
 * Routes kafkajs's own logging into our logger, scoped `kafka`. kafkajs logs
 * every failed connection attempt at ERROR; during a long Wi-Fi outage that
 * would flood the journal, and whether it is an error is for the caller (the
 * delivery layer reports the broker state itself). So kafkajs errors become
 * warnings, and a message repeated within a minute drops to debug.
 */
export function kafkaLogCreator(logger: Logger, hooks: KafkaHooks = {}): logCreator {
  const log = logger.child('kafka');
  const lastSeen = new Map<string, number>();
  return () => ({ level, log: entry }) => {
    const { message, timestamp: _t, logger: _l, ...fields } = entry as { message: string; [k: string]: unknown };
    const denial = hooks.onAuthorizationDenied && level === logLevel.ERROR ? denialFromLogEntry(message, fields) : undefined;
    if (denial) hooks.onAuthorizationDenied!(denial);
    const now = Date.now();
    const key = `${message} ${String(fields.broker ?? '')}`;
    const repeated = now - (lastSeen.get(key) ?? -Infinity) < REPEAT_WINDOW_MS;
    if (!repeated) {
      lastSeen.delete(key);
      lastSeen.set(key, now);
      if (lastSeen.size > REMEMBERED_MESSAGES) lastSeen.delete(lastSeen.keys().next().value!);
    }
    if (repeated || EXPECTED_NOISE.test(message) || level <= logLevel.NOTHING) log.debug(message, fields);
    else if (level === logLevel.ERROR || level === logLevel.WARN) log.warn(message, fields);
    else if (level === logLevel.INFO) log.info(message, fields);
    else log.debug(message, fields);
  };
}

/** Callbacks a client's owner may want from kafkajs's internals. */
export interface KafkaHooks {
  /** The broker refused a request for lack of an ACL (seen in kafkajs's response log, which errors may not carry). */
  onAuthorizationDenied?(denial: AuthorizationDenial): void;
}

function kafkaConfig(conn: KafkaConnection, logger: Logger, hooks: KafkaHooks = {}): KafkaConfig {
  const cfg: KafkaConfig = {
    clientId: conn.clientId,
    brokers: conn.brokers,
    connectionTimeout: conn.connectionTimeoutMs ?? 10_000,
    requestTimeout: conn.requestTimeoutMs ?? 30_000,
    retry: {
      retries: conn.retry?.retries ?? 5,
      initialRetryTime: conn.retry?.initialRetryTimeMs ?? 300,
      maxRetryTime: conn.retry?.maxRetryTimeMs ?? 30_000,
    },
    logLevel: logLevel.INFO,
    logCreator: kafkaLogCreator(logger, hooks),
  };
  if (conn.security !== 'plaintext') {
    if (!conn.username || !conn.password) {
      throw new Error(`security ${conn.security} needs a username and a password file`);
    }
    logger.redact(conn.password.reveal());
    cfg.sasl = { mechanism: 'scram-sha-512', username: conn.username, password: conn.password.reveal() };
  }
  if (conn.security === 'sasl_ssl') {
    cfg.ssl = conn.caFile ? { ca: [readFileSync(conn.caFile, 'utf8')], rejectUnauthorized: true } : { rejectUnauthorized: true };
  }
  return cfg;
}

export function createKafka(conn: KafkaConnection, logger: Logger, hooks: KafkaHooks = {}): KafkaClient {
  // kafkajs prints a partitioner migration notice on every producer otherwise;
  // we always set partitions ourselves.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  // Before any client exists, so kafkajs's first produce request already encodes with it.
  applyKafkajsFastPath(logger);
  return new Kafka(kafkaConfig(conn, logger, hooks));
}
