// `frameline-agent doctor`: checks, in order, everything between this Pi and
// a working stream, and says in plain words what to fix. Each check is small
// and independent; later checks are skipped when what they need failed.
import { lookup } from 'node:dns/promises';
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { H, createKafka, errorCauses, explainKafkaError, partitionFor, splitHostPort, within, type Logger } from '@frameline/shared';
import { createCameraSource, resolveCameraBinary, CameraUnavailableError } from '../camera/index.js';
import { cameraOptions, kafkaConnection, spoolDir, type AgentConfig } from '../config.js';

export interface CheckResult {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
  skipped?: boolean;
}

function tcpReach(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function tlsHandshake(host: string, port: number, caFile: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, ...(caFile ? { ca: readFileSync(caFile, 'utf8') } : {}), rejectUnauthorized: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no TLS answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(`${socket.getProtocol()}, certificate for ${cert.subjectaltname ?? cert.subject?.CN}, valid until ${cert.valid_to}`);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** The host:port kafkajs was dialling when it failed, from the error or its causes. */
function failedBrokerOf(err: unknown): string | undefined {
  const broker = errorCauses(err, 6).map((e) => (e as { broker?: unknown }).broker).find((b) => typeof b === 'string');
  return broker as string | undefined;
}

function advertisedFailure(host: string, port: number, unreachable: string[], privateAddress: boolean): CheckResult {
  return {
    name: 'advertised listeners',
    ok: false,
    detail: `you reached the broker at ${host}:${port}, but it tells clients to connect to ${unreachable.join(', ')}, which this Pi cannot reach.` +
      (privateAddress ? ' It advertises a private or loopback address to a client that came in over a public one.' : '') +
      ' Every produce request would go there and fail.',
    fix: `on the broker set advertised.listeners for EXTERNAL to the address the Pis use (e.g. EXTERNAL://${host}:${port}; Terraform sets the Elastic IP), then restart Kafka`,
  };
}

const PRIVATE = /^(10\.|127\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|localhost$|::1$|fd)/;

export interface DoctorOptions {
  timeoutMs?: number;
  /** Capture one test frame from the camera (default true). */
  camera?: boolean;
}

export async function runDoctor(config: AgentConfig, logger: Logger, options: DoctorOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = options.timeoutMs ?? 5000;
  const results: CheckResult[] = [];
  const add = (r: CheckResult) => results.push(r);
  const conn = { ...kafkaConnection(config), connectionTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs * 2, retry: { retries: 0, initialRetryTimeMs: 100, maxRetryTimeMs: 100 } };
  const { host, port } = splitHostPort(config.kafka.brokers[0]!);

  // 1. DNS
  let dnsOk = false;
  try {
    const addrs = await lookup(host, { all: true });
    dnsOk = true;
    add({ name: 'DNS', ok: true, detail: `${host} resolves to ${addrs.map((a) => a.address).join(', ')}` });
  } catch (err) {
    add({ name: 'DNS', ok: false, detail: `${host} does not resolve (${(err as NodeJS.ErrnoException).code})`, fix: 'check kafka.brokers and this Pi\'s DNS (resolvectl status); the broker\'s Elastic IP works without DNS' });
  }

  // 2. TCP
  let tcpOk = false;
  if (dnsOk) {
    try {
      await tcpReach(host, port, timeoutMs);
      tcpOk = true;
      add({ name: 'TCP', ok: true, detail: `${host}:${port} accepts connections` });
    } catch (err) {
      add({ name: 'TCP', ok: false, detail: `cannot connect to ${host}:${port}: ${(err as Error).message}`, fix: 'is the broker up, and does the EC2 security group allow this Pi\'s public IP on the EXTERNAL port (9092)?' });
    }
  } else add({ name: 'TCP', ok: false, skipped: true, detail: 'skipped: DNS failed' });

  // 3. TLS
  let tlsOk = config.kafka.security !== 'sasl_ssl';
  if (config.kafka.security === 'sasl_ssl') {
    if (tcpOk) {
      try {
        add({ name: 'TLS', ok: true, detail: await tlsHandshake(host, port, config.kafka.caFile, timeoutMs) });
        tlsOk = true;
      } catch (err) {
        const msg = (err as Error).message;
        const fix = /self.signed|unable to (get|verify)/i.test(msg)
          ? `the broker's certificate is not signed by ${config.kafka.caFile || 'a system CA'}: set kafka.caFile to the CA that terraform/kafka.sh printed`
          : /altnames|Hostname\/IP does not match/i.test(msg)
            ? `the certificate does not name "${host}": use the host name or IP the certificate was issued for in kafka.brokers`
            : /wrong version number|packet length too long|ECONNRESET/i.test(msg)
              ? 'this port does not speak TLS: point kafka.brokers at the EXTERNAL (SASL_SSL) listener, usually port 9092'
              : 'check kafka.caFile and the broker\'s EXTERNAL listener';
        add({ name: 'TLS', ok: false, detail: `TLS handshake with ${host}:${port} failed: ${msg}`, fix });
      }
    } else add({ name: 'TLS', ok: false, skipped: true, detail: 'skipped: no TCP connection' });
  }

  // 4. SASL + metadata (advertised listeners) + topics
  let admin: Admin | undefined;
  if (tcpOk && tlsOk) {
    admin = createKafka(conn, logger).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      add({ name: 'SASL credentials', ok: true, detail: `user "${config.kafka.username}" authenticated (SCRAM-SHA-512)` });
      const bad: string[] = [];
      for (const b of cluster.brokers) {
        try {
          await lookup(b.host);
          await tcpReach(b.host, b.port, timeoutMs);
        } catch (err) {
          bad.push(`${b.host}:${b.port} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
        }
      }
      const advertised = cluster.brokers.map((b) => `${b.host}:${b.port}`).join(', ');
      if (bad.length === 0) {
        add({ name: 'advertised listeners', ok: true, detail: `the broker advertises ${advertised}, reachable from here` });
      } else {
        add(advertisedFailure(host, port, bad, cluster.brokers.some((b) => PRIVATE.test(b.host)) && !PRIVATE.test(host)));
      }
    } catch (err) {
      const failed = failedBrokerOf(err);
      if (failed && !config.kafka.brokers.includes(failed)) {
        // The bootstrap connection authenticated and returned metadata; the
        // failure is at the address the broker advertised.
        add({ name: 'SASL credentials', ok: true, detail: `user "${config.kafka.username}" authenticated at ${host}:${port} (SCRAM-SHA-512)` });
        add(advertisedFailure(host, port, [`${failed} (${(err as Error).message})`], PRIVATE.test(failed) && !PRIVATE.test(host)));
      } else {
        const e = explainKafkaError(err, conn);
        add({ name: 'SASL credentials', ok: false, detail: e.message, fix: e.reason === 'auth' ? `check kafka.username and the file in kafka.passwordFile (${config.kafka.passwordFile?.source ?? 'not set'}); the broker admin can reset it with kafka-configs --alter --add-config SCRAM-SHA-512=[password=...]` : 'see the detail above' });
      }
      await admin.disconnect().catch(() => {});
      admin = undefined;
    }
  } else add({ name: 'SASL credentials', ok: false, skipped: true, detail: 'skipped: no connection' });

  if (admin && results.every((r) => r.name !== 'advertised listeners' || r.ok)) {
    await checkTopics(config, admin, conn, logger, add);
  } else add({ name: 'topics', ok: false, skipped: true, detail: 'skipped: the broker is not usable from here' });
  await admin?.disconnect().catch(() => {});

  if (options.camera !== false) add(await checkCamera(config, logger, timeoutMs * 2));
  add(checkSpool(config));
  return results;
}

async function checkTopics(config: AgentConfig, admin: Admin, conn: ReturnType<typeof kafkaConnection>, logger: Logger, add: (r: CheckResult) => void): Promise<void> {
  const wanted = config.delivery.mode === 'reliable' && config.delivery.backfill === 'separate' ? [config.topics.frames, config.topics.backfill] : [config.topics.frames];
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: wanted });
    const parts = topics.map((t) => `${t.name} (${t.partitions.length} partitions)`).join(', ');
    const frames = topics.find((t) => t.name === config.topics.frames)!;
    partitionFor(config.camera.id, frames.partitions.length, config.partitioning);
    add({ name: 'topics', ok: true, detail: `exist: ${parts}; ${config.camera.id} goes to partition ${partitionFor(config.camera.id, frames.partitions.length, config.partitioning)}` });
  } catch (err) {
    const e = explainKafkaError(err, conn);
    add({ name: 'topics', ok: false, detail: `${wanted.join(', ')}: ${err instanceof Error && /partitions|camera-index/.test(err.message) ? err.message : e.message}`, fix: 'create the topics (deploy/kafka/kafka.sh up does) or fix topics.* and partitioning' });
    return;
  }
  // Write permission, proven by writing: one probe record the cloud skips
  // (header fl-probe, no camera headers, empty value, so it is never a frame).
  const producer = createKafka(conn, logger).producer({ allowAutoTopicCreation: false });
  try {
    await producer.connect();
    await producer.send({ topic: config.topics.frames, acks: -1, messages: [{ key: config.camera.id, value: Buffer.alloc(0), headers: { [H.probe]: 'doctor' } }] });
    add({ name: 'write permission', ok: true, detail: `user "${config.kafka.username}" may write ${config.topics.frames} (wrote one fl-probe record)` });
  } catch (err) {
    const e = explainKafkaError(err, conn);
    add({ name: 'write permission', ok: false, detail: e.message, fix: `grant WRITE on ${config.topics.frames} to User:${config.kafka.username} (deploy/kafka/provision.mjs)` });
  } finally {
    await producer.disconnect().catch(() => {});
  }
}

async function checkCamera(config: AgentConfig, logger: Logger, timeoutMs: number): Promise<CheckResult> {
  const name = 'camera';
  try {
    if (config.camera.source === 'rpicam') resolveCameraBinary(config.camera.rpicam.binary || undefined, process.env);
    const source = createCameraSource(cameraOptions(config), logger);
    await source.start();
    const iterator = source.frames()[Symbol.asyncIterator]();
    const first = await within(iterator.next(), timeoutMs);
    await source.stop();
    if (first === undefined || first.done) {
      return { name, ok: false, detail: `no frame from the ${config.camera.source} source within ${timeoutMs} ms`, fix: 'run rpicam-hello to check the camera cable and that no other process holds the camera' };
    }
    return { name, ok: true, detail: `${config.camera.source}: one ${first.value.width}x${first.value.height} frame, ${first.value.jpeg.length} bytes` };
  } catch (err) {
    const fix = err instanceof CameraUnavailableError ? 'install rpicam-apps (sudo apt install rpicam-apps) or set camera.rpicam.binary' : 'see the detail';
    return { name, ok: false, detail: (err as Error).message, fix };
  }
}

function checkSpool(config: AgentConfig): CheckResult {
  const name = 'spool directory';
  const dir = spoolDir(config);
  try {
    mkdirSync(dir, { recursive: true });
    const probe = join(dir, `.doctor-${process.pid}`);
    writeFileSync(probe, 'probe');
    const fd = openSync(probe, 'r+');
    fsyncSync(fd);
    closeSync(fd);
    rmSync(probe);
    const fs = statfsSync(dir);
    const free = fs.bavail * fs.bsize;
    const need = config.delivery.mode === 'reliable' ? config.delivery.spool.maxBytes : 0;
    if (free < need) {
      return { name, ok: false, detail: `${dir} is writable but has ${(free / 2 ** 20).toFixed(0)} MiB free, less than delivery.spool.maxBytes (${(need / 2 ** 20).toFixed(0)} MiB)`, fix: 'free disk space or lower delivery.spool.maxBytes' };
    }
    return { name, ok: true, detail: `${dir} writable, ${(free / 2 ** 30).toFixed(1)} GiB free` };
  } catch (err) {
    return { name, ok: false, detail: `${dir}: ${(err as Error).message}`, fix: 'set stateDir to a writable directory (systemd: StateDirectory=frameline-agent)' };
  }
}

export function formatResults(results: CheckResult[]): string {
  return results.map((r) => {
    const mark = r.ok ? 'ok  ' : r.skipped ? 'skip' : 'FAIL';
    return `${mark}  ${r.name}: ${r.detail}${!r.ok && r.fix ? `\n      fix: ${r.fix}` : ''}`;
  }).join('\n');
}
