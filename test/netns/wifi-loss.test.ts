// Two hosts on one machine: a "Pi" and a "broker" in network namespaces of
// this test's own, joined by a veth pair. The link is cut without a word to
// either side (no RST, no ICMP: packets just vanish, as when a Pi's Wi-Fi
// drops), for 20 s, then restored. A reliable-mode agent must spool through
// it and deliver every frame, in order, afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createKafka, createLogger, decodeFrame, Secret } from '@frameline/shared';
import { REPO_ROOT } from '@frameline/shared/testing';

const run = promisify(execFile);
const THIS_FILE = fileURLToPath(import.meta.url);

/** Child mode: inside the broker's namespace, read the frames topic and print the sequence numbers. */
async function readerMain(): Promise<void> {
  const props = JSON.parse(process.env.FL_NETNS_READER!) as Record<string, string>;
  const { readFileSync } = await import('node:fs');
  const logger = createLogger({ level: 'error' });
  const consumer = createKafka({
    brokers: [props['bootstrap.internal']!], clientId: 'netns-reader', security: 'sasl_plaintext', username: 'cloud',
    password: new Secret(readFileSync(props['sasl.cloud.password.file']!, 'utf8').trim(), 'cloud'),
  }, logger).consumer({ groupId: `frameline-netns-${randomUUID().slice(0, 8)}` });
  await consumer.connect();
  await consumer.subscribe({ topic: 'video.frames', fromBeginning: true });
  const seqs: number[] = [];
  let idle: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve) => {
    const done = () => resolve();
    idle = setTimeout(done, 15_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seqs.push(decodeFrame({ ...message, value: message.value }, { maxBytes: 1 << 24 }).seq);
        clearTimeout(idle);
        idle = setTimeout(done, 3000); // the topic is complete once nothing comes for 3 s
      },
    });
  });
  await consumer.disconnect();
  process.stdout.write(JSON.stringify(seqs) + '\n');
  process.exit(0);
}

const sh = (cmd: string, ...args: string[]) => run(cmd, args, { maxBuffer: 1 << 22 });

function readProps(text: string): Record<string, string> {
  return Object.fromEntries(text.trim().split('\n').filter((l) => /^[a-z.]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function waitForLine(child: ChildProcess, lines: string[], pattern: RegExp, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (lines.some((l) => pattern.test(l))) return resolve();
    const timer = setTimeout(() => reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)), timeoutMs);
    const onData = () => {
      if (lines.some((l) => pattern.test(l))) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
  });
}

if (process.env.FL_NETNS_READER) {
  await readerMain();
} else {
  test('a reliable agent spools through a silent 20 s link loss between two hosts and then delivers every frame in order', { timeout: 5 * 60_000 }, async (t) => {
    const id = randomBytes(3).toString('hex');
    const subnet = `10.231.${randomBytes(1)[0]! % 250}`;
    const [brokerNs, piNs, vethBroker, vethPi] = [`flb-${id}`, `flp-${id}`, `vb-${id}`, `vp-${id}`];
    const brokerIp = `${subnet}.1`;
    const stateDir = join(REPO_ROOT, '.cache', `kafka-netns-${id}`);
    const kafkaEnv = { ...process.env, FRAMELINE_KAFKA_DIR: stateDir, KAFKA_EXTERNAL_BIND: brokerIp, KAFKA_EXTERNAL_ADVERTISED_HOST: brokerIp, KAFKA_HEAP: '384m' };

    // Two namespaces, one cable.
    await sh('ip', 'netns', 'add', brokerNs);
    t.after(() => sh('ip', 'netns', 'del', brokerNs).catch(() => {}));
    await sh('ip', 'netns', 'add', piNs);
    t.after(() => sh('ip', 'netns', 'del', piNs).catch(() => {}));
    await sh('ip', 'link', 'add', vethBroker, 'netns', brokerNs, 'type', 'veth', 'peer', 'name', vethPi, 'netns', piNs);
    await sh('ip', '-n', brokerNs, 'addr', 'add', `${brokerIp}/30`, 'dev', vethBroker);
    await sh('ip', '-n', piNs, 'addr', 'add', `${subnet}.2/30`, 'dev', vethPi);
    for (const [ns, dev] of [[brokerNs, vethBroker], [piNs, vethPi]] as const) {
      await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
      await sh('ip', '-n', ns, 'link', 'set', dev, 'up');
    }

    // The broker host, with the same runner as everywhere.
    const up = await run('ip', ['netns', 'exec', brokerNs, 'bash', join(REPO_ROOT, 'deploy/kafka/kafka.sh'), 'up'], { env: kafkaEnv, maxBuffer: 1 << 22 });
    t.after(() => run('bash', [join(REPO_ROOT, 'deploy/kafka/kafka.sh'), 'down', '--wipe'], { env: kafkaEnv }).catch(() => {}));
    const props = readProps(up.stdout);
    assert.equal(props['bootstrap.external'], `${brokerIp}:9092`);

    // The Pi: a reliable agent, 10 fps.
    const dir = mkdtempSync(join(tmpdir(), 'fl-netns-'));
    const config = join(dir, 'agent.json');
    writeFileSync(config, JSON.stringify({
      camera: { id: 'CAMERA-1', source: 'synthetic', width: 320, height: 240, fps: 10 },
      kafka: { brokers: [props['bootstrap.external']], passwordFile: props['sasl.agent.password.file'], caFile: props['ssl.ca'], connectionTimeout: '3s' },
      delivery: { mode: 'reliable', backfill: 'inline', sendTimeout: '4s' },
      stateDir: join(dir, 'state'),
    }));
    const agent = spawn('ip', ['netns', 'exec', piNs, process.execPath, join(REPO_ROOT, 'agent/bin/frameline-agent.js'), 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.after(() => void agent.kill('SIGKILL'));
    const lines: string[] = [];
    for (const s of [agent.stdout, agent.stderr]) s.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));

    await waitForLine(agent, lines, /sending frames directly/, 60_000);
    await new Promise((r) => setTimeout(r, 4000));

    // Cut the cable: the Pi's side stays up and hears nothing back.
    await sh('ip', '-n', brokerNs, 'link', 'set', vethBroker, 'down');
    const cutAt = Date.now();
    await waitForLine(agent, lines, /writing new frames to the spool/, 30_000);
    // kafkajs gives up on a silent request only after sendTimeout × (retries + 1);
    // meanwhile the bounded memory queue spills into the spool, so nothing waits in RAM.
    t.diagnostic(`agent reported spooling ${Date.now() - cutAt} ms after the link went silent`);
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - cutAt))));
    await sh('ip', '-n', brokerNs, 'link', 'set', vethBroker, 'up');
    const restoredAt = Date.now();
    const directBefore = lines.filter((l) => /sending frames directly/.test(l)).length;
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 90_000;
      const check = setInterval(() => {
        if (lines.filter((l) => /sending frames directly/.test(l)).length > directBefore) {
          clearInterval(check);
          resolve();
        } else if (Date.now() > deadline) {
          clearInterval(check);
          reject(new Error(`the agent did not catch up within 90 s of the link coming back:\n${lines.slice(-20).join('\n')}`));
        }
      }, 200);
    });
    t.diagnostic(`caught up ${Date.now() - restoredAt} ms after the link came back`);
    await new Promise((r) => setTimeout(r, 2000));

    agent.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => agent.once('exit', r));
    assert.equal(code, 0, lines.slice(-20).join('\n'));
    const stopped = lines.find((l) => /\[agent\] stopped/.test(l)) ?? '';
    const sent = Number(/sent=(\d+)/.exec(stopped)?.[1]);
    assert.match(stopped, /spooledFrames=0/, `nothing left in the spool: ${stopped}`);

    // Read everything back on the broker host.
    const reader = await run('ip', ['netns', 'exec', brokerNs, process.execPath, THIS_FILE], { env: { ...process.env, FL_NETNS_READER: JSON.stringify(props) }, maxBuffer: 1 << 24 });
    const seqs = JSON.parse(reader.stdout.trim().split('\n').at(-1)!) as number[];
    t.diagnostic(`${seqs.length} frames on the topic, agent acknowledged ${sent}`);
    assert.ok(seqs.length >= 200, `at least the 20 s of the cut at 10 fps (got ${seqs.length})`);
    assert.equal(seqs.length, sent, 'every acknowledged frame is on the topic once');
    assert.deepEqual(seqs, seqs.map((_, i) => i), 'fl-seq 0..n-1: nothing lost, nothing reordered, nothing twice');
  });
}
