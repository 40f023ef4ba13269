// The agent verifies the broker's certificate (broker-contract.test.ts
// covers plaintext, anonymous and wrong-password refusals on EXTERNAL):
// a certificate from another CA, or for another host name, is rejected,
// and with no CA file configured the system CAs do not trust the broker's
// own CA: no insecure default. The impostors are TLS servers this test
// starts on 127.0.0.1 with certificates it makes with openssl.
// Cost: about 10-20 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createKafka, createLogger, explainKafkaError, type KafkaConnection } from '@frameline/shared';
import { sharedBroker, type TestBroker } from '@frameline/shared/testing';
import { kafkaConnection, loadAgentConfig } from '@frameline/agent/dist/src/config.js';

const run = promisify(execFile);
const logger = createLogger({ level: 'error', scope: 'test' });
const dir = mkdtempSync(join(tmpdir(), 'fl-tls-'));
let broker: TestBroker;
const servers: Server[] = [];
let handshakes = 0;

async function openssl(...args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A key and a certificate for `host`, signed by the CA in caCert/caKey. */
async function leaf(name: string, host: string, caCert: string, caKey: string): Promise<{ key: string; cert: string }> {
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${host}\n`);
  await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${host}`);
  await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
  return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.pem`), 'utf8') };
}

/** A TLS server on 127.0.0.1 that presents `cert` and closes each connection after the handshake. */
async function impostor(creds: { key: string; cert: string }): Promise<number> {
  const server = createServer(creds, (socket) => {
    handshakes++;
    socket.destroy();
  });
  server.on('tlsClientError', () => {});
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

/** The connection the agent itself would build from its config file. */
function agentConnection(brokers: string, caFile: string): KafkaConnection {
  const file = join(dir, `agent-${Math.random()}.json`);
  writeFileSync(file, JSON.stringify({
    camera: { source: 'synthetic' },
    kafka: { brokers, security: 'sasl_ssl', username: 'agent', passwordFile: broker.props['sasl.agent.password.file'], caFile, connectionTimeout: '3s' },
  }));
  return { ...kafkaConnection(loadAgentConfig({ file, env: {} })), retry: { retries: 0, initialRetryTimeMs: 100, maxRetryTimeMs: 100 } };
}

async function connectError(conn: KafkaConnection): Promise<unknown> {
  const producer = createKafka(conn, logger).producer();
  const err = await producer.connect().then(() => undefined, (e: unknown) => e);
  await producer.disconnect().catch(() => {});
  return err;
}

before(async () => {
  broker = await sharedBroker();
});

after(() => {
  for (const s of servers) s.close();
});

test('the agent rejects a broker certificate from another CA, and one for another host name', async () => {
  const brokerCa = broker.props['ssl.ca']!;
  const brokerCaKey = join(brokerCa, '../ca.key');
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'other-ca.key', '-out', 'other-ca.pem', '-days', '2', '-subj', '/CN=Another CA');
  const otherCa = await impostor(await leaf('other-ca-localhost', 'localhost', 'other-ca.pem', 'other-ca.key'));
  const otherHost = await impostor(await leaf('right-ca-other-host', 'broker.example.org', brokerCa, brokerCaKey));

  for (const [what, port] of [['another CA', otherCa], ['another host name', otherHost]] as const) {
    const conn = agentConnection(`localhost:${port}`, brokerCa);
    const err = await connectError(conn);
    assert.ok(err, `${what}: the connection must fail`);
    const explained = explainKafkaError(err, conn);
    console.log(`${what}: ${explained.reason}: ${explained.message.slice(0, 200)}`);
    assert.equal(explained.reason, 'tls', explained.message);
    assert.match(explained.message, /self[- ]signed|unable to verify|altnames|Hostname\/IP does not match|certificate/i);
  }
  assert.ok(handshakes === 0, `no connection got past the handshake (${handshakes})`);

  // The same checks pass the real broker's certificate: the test can tell the difference.
  const ok = await connectError(agentConnection(broker.props['bootstrap.external']!, brokerCa));
  assert.equal(ok, undefined, String(ok));
});

test('with no CA file the system CAs are used, which do not trust a private broker CA: no insecure default', async () => {
  const conn = agentConnection(broker.props['bootstrap.external']!, '');
  const err = await connectError(conn);
  assert.ok(err, 'verification stays on without a CA file');
  assert.equal(explainKafkaError(err, conn).reason, 'tls');
});
