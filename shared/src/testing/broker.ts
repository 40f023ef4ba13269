// Test support: the real local broker started by deploy/kafka/kafka.sh.
// scripts/test.mjs starts one broker per test run and exports
// FRAMELINE_KAFKA_PROPS; tests provision uniquely named topics on it. Tests
// that must stop a broker start a private one with startPrivateBroker().
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import kafkajs from 'kafkajs';
import { Writable } from 'node:stream';
import { Secret } from '../config/secret.js';
import { createKafka } from '../kafka/client.js';
import { createLogger } from '../log/logger.js';
import type { KafkaConnection } from '../kafka/client.js';
import type { TopicSet } from '../topics.js';

const run = promisify(execFile);

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const KAFKA_SH = join(REPO_ROOT, 'deploy/kafka/kafka.sh');
const provisionModule = pathToModule(join(REPO_ROOT, 'deploy/kafka/provision.mjs'));

function pathToModule(p: string): string {
  return new URL(`file://${p}`).href;
}

export type Props = Record<string, string>;
export type User = 'admin' | 'agent' | 'cloud';

export interface TestBroker {
  props: Props;
  /** Connection as `user` over `listener` (EXTERNAL: SASL_SSL, INTERNAL: SASL_PLAINTEXT). */
  connection(user: User, listener: 'internal' | 'external', clientId?: string): KafkaConnection;
  /** Creates a fresh, uniquely named topic set with the runner's ACLs. */
  topics(prefix?: string, partitions?: number): Promise<TopicSet>;
  admin(): kafkajs.Admin;
  /**
   * Runs one of Kafka's own command-line tools (e.g. kafka.admin.ConfigCommand)
   * from the runner's jars, as the admin user over INTERNAL; `{config}` in
   * args becomes the path of that client config file.
   */
  kafkaTool(mainClass: string, args: string[]): Promise<string>;
  /** A kcat (librdkafka) config file, mode 0600, for `kcat -F`. */
  kcatConfig(user: User, listener: 'internal' | 'external'): string;
  /**
   * Reads a topic from the beginning as user `cloud` over INTERNAL (its own
   * consumer group) until `count` records that pass `filter` arrived or
   * `timeoutMs` passed, then `settleMs` more to catch duplicates. Returns what
   * arrived, in offset order per partition; callers assert on it.
   */
  readRecords(topic: string, options: ReadOptions): Promise<ReadRecord[]>;
}

export interface ReadOptions {
  count: number;
  filter?: (message: kafkajs.KafkaMessage) => boolean;
  timeoutMs?: number;
  settleMs?: number;
}

export interface ReadRecord {
  partition: number;
  message: kafkajs.KafkaMessage;
}

export async function sharedBroker(): Promise<TestBroker> {
  const file = process.env.FRAMELINE_KAFKA_PROPS ?? join(REPO_ROOT, '.cache/kafka-test/client.properties');
  if (!existsSync(file)) {
    throw new Error(`no test broker: ${file} is missing. Run the tests with "npm test", which starts one.`);
  }
  return brokerFromProps(file);
}

async function brokerFromProps(file: string): Promise<TestBroker> {
  const prov = (await import(provisionModule)) as typeof import('../../../deploy/kafka/provision.mjs');
  const props = prov.readClientProperties(file);
  const { readFileSync } = await import('node:fs');
  const connection = (user: User, listener: 'internal' | 'external', clientId = `test-${user}`): KafkaConnection => ({
    brokers: props[`bootstrap.${listener}`]!.split(','), // a cluster lists every node
    clientId,
    security: listener === 'external' ? 'sasl_ssl' : 'sasl_plaintext',
    username: props[`sasl.${user}.username`]!,
    password: new Secret(readFileSync(props[`sasl.${user}.password.file`]!, 'utf8').trim(), props[`sasl.${user}.password.file`]!),
    ...(listener === 'external' ? { caFile: props['ssl.ca']! } : {}),
    retry: { retries: 3, initialRetryTimeMs: 200, maxRetryTimeMs: 2000 },
  });
  const admin = () => new kafkajs.Kafka({ ...prov.adminClientConfig(props) }).admin();
  const kcatConfig = (user: User, listener: 'internal' | 'external'): string => {
    const lines = [
      `bootstrap.servers=${props[`bootstrap.${listener}`]}`,
      `security.protocol=${listener === 'external' ? 'SASL_SSL' : 'SASL_PLAINTEXT'}`,
      'sasl.mechanisms=SCRAM-SHA-512',
      `sasl.username=${user}`,
      `sasl.password=${readFileSync(props[`sasl.${user}.password.file`]!, 'utf8').trim()}`,
      ...(listener === 'external' ? [`ssl.ca.location=${props['ssl.ca']}`] : []),
    ];
    const file = join(mkdtempSync(join(tmpdir(), 'fl-kcat-')), 'kcat.conf');
    writeFileSync(file, lines.join('\n') + '\n', { mode: 0o600 });
    return file;
  };
  const kafkaTool = async (mainClass: string, args: string[]): Promise<string> => {
    // The version kafka.sh runs: the one its pom names.
    const version = /<kafka.version>(.+)<\/kafka.version>/.exec(readFileSync(join(REPO_ROOT, 'deploy/kafka/pom.xml'), 'utf8'))![1]!;
    const dist = join(REPO_ROOT, '.cache/kafka-dist');
    if (!existsSync(join(dist, version, 'libs/.complete'))) throw new Error(`no Kafka ${version} jars under ${dist}: run deploy/kafka/kafka.sh up`);
    const config = join(mkdtempSync(join(tmpdir(), 'fl-kafka-tool-')), 'admin.properties');
    writeFileSync(config, [
      'security.protocol=SASL_PLAINTEXT', 'sasl.mechanism=SCRAM-SHA-512',
      `sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${readFileSync(props['sasl.admin.password.file']!, 'utf8').trim()}";`,
    ].join('\n') + '\n', { mode: 0o600 });
    const { stdout } = await run('java', ['-Xmx256m', '-cp', join(dist, version, 'libs/*'), mainClass,
      ...args.map((a) => a.replace('{config}', config).replace('{bootstrap}', props['bootstrap.internal']!))], { maxBuffer: 1 << 22 });
    return stdout;
  };
  const readRecords = async (topic: string, options: ReadOptions): Promise<ReadRecord[]> => {
    const quiet = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
    const consumer = createKafka(connection('cloud', 'internal', 'test-reader'), quiet).consumer({
      groupId: `frameline-test-${randomUUID()}`,
      maxBytesPerPartition: 34 << 20,
    });
    const got: ReadRecord[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (!options.filter || options.filter(message)) got.push({ partition, message });
        },
      });
      const deadline = Date.now() + (options.timeoutMs ?? 30_000);
      while (got.length < options.count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      if (options.settleMs) await new Promise((r) => setTimeout(r, options.settleMs));
    } finally {
      await consumer.disconnect();
    }
    return got;
  };
  return {
    props,
    connection,
    admin,
    kafkaTool,
    readRecords,
    kcatConfig,
    async topics(prefix = 'test', partitions = 3) {
      const id = `${prefix}-${randomUUID().slice(0, 8)}`;
      const names: TopicSet = {
        frames: `${id}.frames`,
        backfill: `${id}.frames.backfill`,
        inferences: `${id}.inferences`,
        alerts: `${id}.alerts`,
        dlq: `${id}.frames.dlq`,
      };
      const a = admin();
      await a.connect();
      try {
        await prov.provision(a, names, partitions);
      } finally {
        await a.disconnect();
      }
      return names;
    },
  };
}

export interface PrivateBroker extends TestBroker {
  /** The state dir kafka.sh keeps this broker in (FRAMELINE_KAFKA_DIR). */
  dir: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the broker and deletes its state. */
  destroy(): Promise<void>;
}

/**
 * A broker of the test's own (separate state dir and ports), for tests that
 * stop and restart it. Ports: base+0 INTERNAL, base+1 EXTERNAL, base+2 CONTROLLER.
 * extraEnv reaches kafka.sh (e.g. KAFKA_EXTERNAL_ADVERTISED_HOST); upArgs
 * go to `kafka.sh up` (e.g. ['--nodes', '3']: node N then listens on each
 * port + 10*(N-1), and its pid is in <state>/node-N/run/kafka.pid).
 */
export async function startPrivateBroker(name: string, portBase: number, extraEnv: Record<string, string> = {}, upArgs: string[] = []): Promise<PrivateBroker> {
  const dir = join(REPO_ROOT, '.cache', `kafka-${name}`);
  const env = {
    ...process.env,
    FRAMELINE_KAFKA_DIR: dir,
    KAFKA_INTERNAL_PORT: String(portBase),
    KAFKA_EXTERNAL_PORT: String(portBase + 1),
    KAFKA_CONTROLLER_PORT: String(portBase + 2),
    KAFKA_HEAP: '384m',
    ...extraEnv,
  };
  const sh = (...args: string[]) => run('bash', [KAFKA_SH, ...args], { env, maxBuffer: 1 << 20 });
  await sh('down', '--wipe');
  await sh('up', ...upArgs);
  const broker = await brokerFromProps(join(dir, 'client.properties'));
  return {
    ...broker,
    dir,
    stop: async () => void (await sh('down')),
    start: async () => void (await sh('up')),
    destroy: async () => void (await sh('down', '--wipe')),
  };
}
