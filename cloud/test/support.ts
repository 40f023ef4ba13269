// Shared by the cloud's broker tests: a config for a service under test on
// the shared broker with a fresh consumer group, and the fast test model.
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import type { TopicSet } from '@frameline/shared';
import type { TestBroker } from '@frameline/shared/testing';
import { loadCloudConfig, type CloudConfig } from '../src/config.js';
import { slowModel } from './slow-model.js';

/** The model the broker tests give createCloudService (deps.model): 5 ms per frame, finds nobody. */
export const FAST_TEST_MODEL = slowModel({ msPerFrame: 5 });

export type Tree = Record<string, unknown>;

/** A TCP port on 127.0.0.1 free a moment ago, for a service under test. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** Polls `cond` every 100 ms until it holds; throws naming `what` after timeoutMs. */
export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function merge(a: Tree, b: Tree): Tree {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' ? merge(a[k] as Tree, v as Tree) : v;
  return out;
}

/** INTERNAL as user cloud, the topic set given, HTTP on a free port; `over` wins. */
export function testCloudConfig(broker: TestBroker, topics: TopicSet, over: Tree = {}): CloudConfig {
  const p = broker.props;
  const base: Tree = {
    kafka: {
      brokers: p['bootstrap.internal'], security: 'sasl_plaintext', username: p['sasl.cloud.username'],
      passwordFile: p['sasl.cloud.password.file'], groupId: `frameline-test-${randomUUID().slice(0, 8)}`, sessionTimeout: '6s',
    },
    topics: { frames: topics.frames, backfill: topics.backfill, inferences: topics.inferences, alerts: topics.alerts, dlq: topics.dlq },
    http: { listen: '127.0.0.1:0' },
    scheduler: { workers: 1, maxLagMs: '5s' },
    log: { level: 'error' },
  };
  return loadCloudConfig({ env: {}, overrides: merge(base, over) });
}
