// The broker user_data Terraform renders boots a broker here as it would on EC2:
// modules/broker-user-data renders it (terraform-support.ts), the test gunzips
// what EC2 would receive and runs that script as root, so deploy/kafka's files,
// kafka.env and the ec2-bootstrap.sh run all come from the rendered user_data. Three
// network namespaces stand in for the three hosts, firewalled like the
// Terraform security group: `broker` (EXTERNAL 9092 only from the Pi's
// network, INTERNAL 19092 only from the consumer host, nothing else), `pi`
// (a real frameline-agent over EXTERNAL with TLS verification on) and `cloud`
// (frameline-cloud's real main() with a 5 ms test model, over INTERNAL; moto's server runs here too, as the
// SSM endpoint reachable from the VPC). The broker host also gets a private
// mount namespace with tmpfs over /opt/frameline, /etc/frameline,
// /var/lib/kafka and /etc/systemd/system, and a private copy of /etc (the
// script adds a `kafka` user), so the script runs unchanged as root without
// touching this machine. Instance metadata comes from an IMDSv2 stand-in.
//
// Pre-seeded as on a baked image (their download paths run elsewhere): the
// JVM, the Kafka jars and kafkajs. Everything else is the script's own work.
// The contract's test-only overrides (IMDS and SSM endpoints, AWS credentials)
// reach ec2-bootstrap.sh through the user_data script's process environment,
// which the bootstrap honours; the rendered kafka.env never holds them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createKafka, createLogger, Secret } from '@frameline/shared';
import { REPO_ROOT } from '@frameline/shared/testing';
import { ensureMotoVenv, startMoto } from '../support/moto.js';
import { renderBrokerUserData } from './terraform-support.js';

const run = promisify(execFile);
const THIS_FILE = fileURLToPath(import.meta.url);
const IMDS = join(REPO_ROOT, 'test/dist/support/imds.js');
const AGENT_BIN = join(REPO_ROOT, 'agent/bin/frameline-agent.js');
/** frameline-cloud's real main() with the 5 ms/frame test model (cloud/test/slow-cloud.ts): the broker is under test here, not pose. */
const CLOUD_BIN = join(REPO_ROOT, 'cloud/dist/test/slow-cloud.js');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Running, not a zombie left for a PID 1 that may not reap. */
const alive = (pid: number) => {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

/** Child mode, in the cloud namespace: read video.inferences as user cloud over INTERNAL, print the results. */
async function readerMain(args: { brokers: string; passwordFile: string; count: number }): Promise<void> {
  const consumer = createKafka({
    brokers: [args.brokers], clientId: 'ec2-test-reader', security: 'sasl_plaintext', username: 'cloud',
    password: new Secret(readFileSync(args.passwordFile, 'utf8').trim(), 'cloud'),
  }, createLogger({ level: 'error' })).consumer({ groupId: `frameline-ec2-reader-${randomBytes(4).toString('hex')}` });
  await consumer.connect();
  await consumer.subscribe({ topic: 'video.inferences', fromBeginning: true });
  const results: Array<{ camera: string; run: string; seq: number }> = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 60_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        const r = JSON.parse(message.value!.toString()) as { camera: string; run: string; seq: number };
        results.push({ camera: r.camera, run: r.run, seq: r.seq });
        if (results.length >= args.count) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  process.stdout.write(JSON.stringify(results) + '\n');
  process.exit(0);
}

function collect(child: ChildProcess): string[] {
  const lines: string[] = [];
  for (const s of [child.stdout, child.stderr]) s?.on('data', (b: Buffer) => lines.push(...b.toString().split('\n').filter(Boolean)));
  return lines;
}

async function waitFor(what: string, timeoutMs: number, cond: () => boolean | Promise<boolean>, context = () => ''): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${context()}`);
    await sleep(250);
  }
}

if (process.env.FL_EC2_READER) {
  await readerMain(JSON.parse(process.env.FL_EC2_READER));
} else {
  test('the Terraform-rendered user_data boots a broker in a namespace host; an agent sends over EXTERNAL (TLS verified), the cloud consumes over INTERNAL, the firewall holds, doctor catches a wrong advertised host', { timeout: 10 * 60_000 }, async (t) => {
    const started = Date.now();
    const stamp = (what: string) => t.diagnostic(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);
    const venv = await ensureMotoVenv();
    const id = randomBytes(3).toString('hex');
    const net = `10.234.${randomBytes(1)[0]! % 250}`;
    const ns = { broker: `fleb-${id}`, pi: `flep-${id}`, cloud: `flec-${id}` };
    const eip = `${net}.1`; // the broker's side of the Pi link stands in for its Elastic IP
    const piIp = `${net}.2`;
    const privateIp = `${net}.9`;
    const cloudIp = `${net}.10`;
    const sh = (...args: string[]) => run(args[0]!, args.slice(1), { maxBuffer: 1 << 22 });
    const inNs = (n: string, ...args: string[]) => sh('ip', 'netns', 'exec', n, ...args);
    const children: ChildProcess[] = [];
    const spawnIn = (n: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
      const c = spawn('ip', ['netns', 'exec', n, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
      children.push(c);
      return c;
    };
    // One cleanup, in order: every process we started (by pid), then the namespaces.
    let brokerPid = 0;
    const createdRoots = ['/opt/frameline', '/var/lib/kafka'].filter((d) => !existsSync(d));
    t.after(async () => {
      if (brokerPid && alive(brokerPid)) process.kill(brokerPid, 'SIGKILL');
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      await sleep(500);
      for (const n of Object.values(ns)) await sh('ip', 'netns', 'del', n).catch(() => {});
      // The mount points the private namespace needed, if this machine had none.
      for (const d of createdRoots) rmdirSync(d);
    });

    // Three hosts: pi -- broker (Elastic IP side), broker (private side) -- cloud.
    for (const n of Object.values(ns)) {
      await sh('ip', 'netns', 'add', n);
      await sh('ip', '-n', n, 'link', 'set', 'lo', 'up');
    }
    const link = async (a: string, aDev: string, aAddr: string, b: string, bDev: string, bAddr: string) => {
      await sh('ip', 'link', 'add', aDev, 'netns', a, 'type', 'veth', 'peer', 'name', bDev, 'netns', b);
      await sh('ip', '-n', a, 'addr', 'add', aAddr, 'dev', aDev);
      await sh('ip', '-n', b, 'addr', 'add', bAddr, 'dev', bDev);
      await sh('ip', '-n', a, 'link', 'set', aDev, 'up');
      await sh('ip', '-n', b, 'link', 'set', bDev, 'up');
    };
    await link(ns.broker, `vep-${id}`, `${eip}/30`, ns.pi, `vpe-${id}`, `${piIp}/30`);
    await link(ns.broker, `vec-${id}`, `${privateIp}/29`, ns.cloud, `vce-${id}`, `${cloudIp}/29`);

    // The user_data as Terraform renders it for this host, and for the same host with a wrong EXTERNAL host.
    const cluster = `nstest-${id}`;
    const renderInputs = {
      clusterName: cluster, region: 'eu-west-1', nodeId: 1, privateIps: [privateIp], externalHost: eip,
      externalDns: `ec2-${eip.replaceAll('.', '-')}.eu-west-1.compute.amazonaws.com`,
      partitions: 3, retentionHours: 6, heap: '384m', dataVolumeId: 'none',
    };
    // The second seed's mistake: advertising the instance's private DNS name, which no Pi can resolve.
    const wrongHost = `ip-${privateIp.replaceAll('.', '-')}.eu-west-1.compute.internal`;
    const scratch = mkdtempSync(join(tmpdir(), 'fl-ec2-host-'));
    const userData = (label: string, externalHost: string) => {
      const rendered = renderBrokerUserData({ ...renderInputs, externalHost });
      const script = join(scratch, `user-data-${label}.sh`);
      // Exactly what EC2 hands cloud-init, unpacked as cloud-init does.
      writeFileSync(script, gunzipSync(Buffer.from(rendered.userDataBase64, 'base64')), { mode: 0o700 });
      return { ...rendered, path: script };
    };
    const good = userData('good', eip);
    const wrong = userData('wrong-host', wrongHost);
    const raw = Buffer.from(good.userDataBase64, 'base64').length;
    stamp(`user_data rendered: ${raw} B gzipped of EC2's 16384 (base64 ${good.userDataBase64.length} B, script ${good.script.length} B, ${good.files.length} files)`);
    assert.ok(raw < 16384, 'under the user_data limit as EC2 counts it (raw, before base64)');
    assert.equal(readFileSync(good.path, 'utf8'), good.script, 'the base64 unpacks to the script');
    const topics = readFileSync(join(REPO_ROOT, 'shared/topics.json'), 'utf8');
    assert.ok(good.files.includes('topics.json'));
    assert.ok(good.script.includes(`put /opt/frameline/kafka/topics.json 0644 '${topics}'`), 'the topic list itself is embedded, not a link');
    assert.doesNotMatch(good.kafkaEnv, /FRAMELINE_IMDS_ENDPOINT|AWS_ENDPOINT_URL|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/, 'no test override rendered');
    assert.match(wrong.kafkaEnv, new RegExp(`^KAFKA_EXTERNAL_ADVERTISED_HOST=${wrongHost.replaceAll('.', '\\.')}$`, 'm'));

    // The Pi's way to everything is the broker host, so only the firewall keeps it off the private address.
    await sh('ip', '-n', ns.pi, 'route', 'add', 'default', 'via', eip);

    // The security group, as nftables rules on the broker host.
    const rules = join(mkdtempSync(join(tmpdir(), 'fl-ec2-')), 'sg.nft');
    writeFileSync(rules, `table inet frameline_sg {
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    ip protocol icmp accept
    tcp dport 9092 ip saddr ${net}.0/30 accept
    tcp dport 19092 ip saddr ${cloudIp} accept
  }
}
`);
    await inNs(ns.broker, 'nft', '-f', rules);

    // AWS: SSM (moto) in the VPC, instance metadata on the instance.
    // moto takes a while to import; it starts while the broker host is prepared.
    const motoStarting = startMoto(venv, cloudIp, 4566, ['ip', 'netns', 'exec', ns.cloud]);
    motoStarting.then((m) => children.push(m.proc), () => {});
    const imdsPort = 18000 + (randomBytes(2).readUInt16BE() % 2000);
    const imds = spawnIn(ns.broker, [process.execPath, IMDS, '127.0.0.1', String(imdsPort),
      JSON.stringify({ 'instance-id': `i-0${id}0000000000`, 'local-ipv4': privateIp, 'public-ipv4': eip })]);
    const imdsLog = collect(imds);
    await waitFor('the IMDS stand-in', 30_000, () => imdsLog.some((l) => l.startsWith('listening')));

    // The EC2 host: a mount namespace held open by a sleeper, with the contract's roots on tmpfs.
    const hostScript = `set -e
scratch=$(mktemp -d)
mount -t tmpfs tmpfs "$scratch"
cp -a /etc "$scratch/etc"
mount --bind "$scratch/etc" /etc
for d in /opt/frameline /etc/frameline /var/lib/kafka /etc/systemd/system; do mkdir -p "$d"; mount -t tmpfs -o mode=0755 tmpfs "$d"; done
echo ready
exec sleep 3600`;
    const holder = spawn('ip', ['netns', 'exec', ns.broker, 'unshare', '--mount', '--propagation', 'private', 'bash', '-c', hostScript], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    const holderLog = collect(holder);
    await waitFor('the broker host mount namespace', 30_000, () => holderLog.includes('ready'));
    const onHost = (...args: string[]) => sh('nsenter', '-t', String(holder.pid), '-m', '-n', ...args);

    // Pre-seeded as on a baked image: the Kafka jars and kafkajs, under the roots the user_data writes to.
    const moto = await motoStarting;
    stamp('namespaces, firewall, broker host, moto and IMDS ready');
    const prefix = `/frameline/${cluster}`;
    const version = /<kafka.version>(.+)<\/kafka.version>/.exec(readFileSync(join(REPO_ROOT, 'deploy/kafka/pom.xml'), 'utf8'))![1]!;
    await onHost('bash', '-c', `set -e
mkdir -p /opt/frameline/kafka-dist/${version}/libs /opt/frameline/kafka/node_modules/kafkajs
mount --bind -o ro "${REPO_ROOT}/.cache/kafka-dist/${version}/libs" /opt/frameline/kafka-dist/${version}/libs
mount --bind -o ro "${REPO_ROOT}/node_modules/kafkajs" /opt/frameline/kafka/node_modules/kafkajs`);

    // The user_data itself, as root, as cloud-init runs it: its files, its kafka.env, its exec of the bootstrap.
    // The venv's aws CLI on PATH; the contract's test-only overrides in the process environment only.
    const overrides = {
      FRAMELINE_IMDS_ENDPOINT: `http://127.0.0.1:${imdsPort}`, AWS_ENDPOINT_URL_SSM: moto.endpoint,
      AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing',
    };
    const bootstrap = async (script: string) => {
      const r = await onHost('env', `PATH=${venv.bin}:${process.env.PATH}`, ...Object.entries(overrides).map(([k, v]) => `${k}=${v}`), 'bash', script);
      brokerPid = Number((await onHost('cat', '/var/lib/kafka/kafka.pid')).stdout.trim());
      return r.stdout + r.stderr;
    };
    const boot1 = await bootstrap(good.path);
    stamp('first boot done');
    assert.match(boot1, /broker node 1 is up: EXTERNAL .*:9092 \(SASL_SSL\), INTERNAL .*:19092/);
    assert.match(boot1, /storing the cluster's CA, cluster id and SCRAM passwords in SSM/);
    assert.ok(imdsLog.some((l) => l === 'PUT /latest/api/token 200'), 'an IMDSv2 token was taken');
    assert.ok(imdsLog.some((l) => l === 'GET /latest/meta-data/local-ipv4 200'), 'metadata read with the token');
    assert.ok(!imdsLog.some((l) => / 401$/.test(l)), 'no metadata read without a token');

    await t.test('the user_data wrote deploy/kafka (topic list included) and the rendered kafka.env', async () => {
      assert.equal((await onHost('cat', '/etc/frameline/kafka.env')).stdout, good.kafkaEnv);
      for (const f of good.files) {
        const [mode, type] = (await onHost('stat', '-c', '%a %F', `/opt/frameline/kafka/${f}`)).stdout.trim().split(/ (.*)/);
        assert.equal(type, 'regular file', f);
        assert.equal(mode, f.endsWith('.sh') ? '755' : '644', f);
        assert.equal((await onHost('cat', `/opt/frameline/kafka/${f}`)).stdout, readFileSync(join(REPO_ROOT, 'deploy/kafka', f), 'utf8'), f);
      }
    });

    await t.test('the unit is installed, the broker runs as user kafka, config and secrets are private', async () => {
      assert.equal((await onHost('cat', '/etc/systemd/system/kafka.service')).stdout, readFileSync(join(REPO_ROOT, 'deploy/systemd/kafka.service'), 'utf8'));
      const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${brokerPid}/status`, 'utf8'))![1];
      assert.equal(uid, (await onHost('id', '-u', 'kafka')).stdout.trim(), 'java runs as kafka');
      assert.match(readFileSync(`/proc/${brokerPid}/cmdline`, 'utf8'), /-Xmx384m/, 'the heap from KAFKA_HEAP');
      const modes = (await onHost('stat', '-c', '%a %U:%G %n', '/etc/frameline/kafka/server.properties', '/etc/frameline/kafka/tls/broker.p12',
        '/etc/frameline/kafka/secrets/agent.password', '/etc/frameline/kafka/secrets')).stdout;
      assert.match(modes, /^640 root:kafka \/etc\/frameline\/kafka\/server\.properties$/m);
      assert.match(modes, /^640 root:kafka \/etc\/frameline\/kafka\/tls\/broker\.p12$/m);
      assert.match(modes, /^600 root:root \/etc\/frameline\/kafka\/secrets\/agent\.password$/m);
      const rendered = (await onHost('cat', '/etc/frameline/kafka/server.properties')).stdout;
      assert.match(rendered, new RegExp(`^advertised\\.listeners=INTERNAL://${privateIp}:19092,EXTERNAL://${eip}:9092$`, 'm'));
      assert.match(rendered, new RegExp(`^controller\\.quorum\\.voters=1@${privateIp}:9093$`, 'm'));
    });

    // What a user does: fetch the CA and the passwords with the AWS CLI (from inside the VPC, where the emulator is).
    const awsEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' };
    const fetchParam = async (name: string, file: string, mode: number) => {
      const { stdout } = await run('ip', ['netns', 'exec', ns.cloud, venv.aws, 'ssm', 'get-parameter', '--with-decryption', '--name', `${prefix}/${name}`,
        '--query', 'Parameter.Value', '--output', 'text', '--region', 'eu-west-1', '--endpoint-url', moto.endpoint], { env: awsEnv });
      writeFileSync(file, stdout, { mode });
    };
    const caFile = join(scratch, 'ca.pem');
    const agentPw = join(scratch, 'agent.password');
    const cloudPw = join(scratch, 'cloud.password');
    await fetchParam('tls/ca.pem', caFile, 0o644);
    await fetchParam('scram/agent', agentPw, 0o600);
    await fetchParam('scram/cloud', cloudPw, 0o600);

    await t.test('SSM holds the contract\'s parameters, secrets as SecureString', async () => {
      const { stdout } = await run('ip', ['netns', 'exec', ns.cloud, venv.aws, 'ssm', 'get-parameters-by-path', '--path', prefix, '--recursive',
        '--query', 'Parameters[].[Name,Type]', '--output', 'text', '--region', 'eu-west-1', '--endpoint-url', moto.endpoint], { env: awsEnv });
      const types = Object.fromEntries(stdout.trim().split('\n').map((l) => l.split('\t') as [string, string]));
      assert.deepEqual(types, {
        [`${prefix}/tls/ca.pem`]: 'SecureString', [`${prefix}/tls/ca.key`]: 'SecureString', [`${prefix}/kraft/cluster-id`]: 'String',
        [`${prefix}/scram/admin`]: 'SecureString', [`${prefix}/scram/agent`]: 'SecureString', [`${prefix}/scram/cloud`]: 'SecureString',
        [`${prefix}/scram/controller`]: 'SecureString',
      });
      assert.match(readFileSync(caFile, 'utf8'), /-----BEGIN CERTIFICATE-----/);
    });

    // The Pi and the consumer host.
    const agentConfig = join(scratch, 'agent.json');
    writeFileSync(agentConfig, JSON.stringify({
      camera: { id: 'CAMERA-1', source: 'synthetic', width: 320, height: 240, fps: 5 },
      kafka: { brokers: [`${eip}:9092`], passwordFile: agentPw, caFile, connectionTimeout: '5s' },
      delivery: { mode: 'reliable', spool: { maxBytes: '16MiB' } },
      stateDir: join(scratch, 'agent-state'),
    }));
    const cloudConfig = join(scratch, 'cloud.json');
    writeFileSync(cloudConfig, JSON.stringify({
      kafka: { brokers: [`${privateIp}:19092`], security: 'sasl_plaintext', username: 'cloud', passwordFile: cloudPw, groupId: 'frameline-cloud', sessionTimeout: '6s' },
      http: { listen: '127.0.0.1:0' },
      scheduler: { workers: 1, maxLagMs: '5s' },
    }));

    await t.test('doctor from the Pi passes every broker check against the booted broker', async () => {
      const { stdout } = await inNs(ns.pi, process.execPath, AGENT_BIN, 'doctor', '--config', agentConfig);
      for (const check of ['DNS', 'TCP', 'TLS', 'SASL credentials', 'advertised listeners', 'topics', 'write permission']) {
        assert.match(stdout, new RegExp(`^ok {4}${check}:`, 'm'), `${check} ok\n${stdout}`);
      }
    });

    await t.test('frames flow from the Pi (EXTERNAL, TLS verified) through the cloud (INTERNAL) to video.inferences', async () => {
      const cloud = spawnIn(ns.cloud, [process.execPath, CLOUD_BIN, 'run', '--config', cloudConfig]);
      const cloudLog = collect(cloud);
      const agent = spawnIn(ns.pi, [process.execPath, AGENT_BIN, 'run', '--config', agentConfig]);
      const agentLog = collect(agent);
      await waitFor('the agent sending', 90_000, () => agentLog.some((l) => /sending frames directly/.test(l)), () => agentLog.slice(-20).join('\n'));
      stamp('agent sending over EXTERNAL');
      const reader = await run('ip', ['netns', 'exec', ns.cloud, process.execPath, THIS_FILE], {
        env: { ...process.env, FL_EC2_READER: JSON.stringify({ brokers: `${privateIp}:19092`, passwordFile: cloudPw, count: 10 }) }, maxBuffer: 1 << 24,
      });
      const results = JSON.parse(reader.stdout.trim().split('\n').at(-1)!) as Array<{ camera: string; seq: number }>;
      stamp(`${results.length} results read back from video.inferences`);
      assert.ok(results.length >= 10, `10 results on video.inferences (got ${results.length})\ncloud:\n${cloudLog.slice(-10).join('\n')}`);
      assert.ok(results.every((r) => r.camera === 'CAMERA-1'));
      const seqs = results.map((r) => r.seq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'results in capture order');
      agent.kill('SIGTERM');
      cloud.kill('SIGTERM');
      await Promise.all([agent, cloud].map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    });

    await t.test('the firewall: the Pi reaches only EXTERNAL; INTERNAL answers the cloud host alone', async () => {
      const reach = async (n: string, host: string, port: number) =>
        inNs(n, 'timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`).then(() => true, () => false);
      assert.equal(await reach(ns.pi, eip, 9092), true, 'pi -> EXTERNAL');
      assert.equal(await reach(ns.pi, privateIp, 19092), false, 'pi -> INTERNAL on the private IP');
      assert.equal(await reach(ns.pi, eip, 19092), false, 'pi -> INTERNAL on the Elastic IP');
      assert.equal(await reach(ns.pi, privateIp, 9093), false, 'pi -> CONTROLLER');
      assert.equal(await reach(ns.cloud, privateIp, 19092), true, 'cloud -> INTERNAL');
    });

    await t.test('a broker rendered with a wrong advertised EXTERNAL host: doctor on the Pi says so in plain words', async () => {
      const pid = brokerPid;
      process.kill(pid, 'SIGTERM');
      await waitFor('the broker to stop', 60_000, () => !alive(pid));
      const boot2 = await bootstrap(wrong.path);
      stamp('second boot (wrong advertised host) done');
      assert.doesNotMatch(boot2, /storing the cluster's CA/, 'a second boot keeps the stored secrets');
      const doctor = await inNs(ns.pi, process.execPath, AGENT_BIN, 'doctor', '--config', agentConfig).then(
        () => assert.fail('doctor must fail'), (e: { code: number; stdout: string }) => e);
      assert.equal(doctor.code, 1);
      assert.match(doctor.stdout, /^ok {4}TLS:/m, doctor.stdout);
      assert.match(doctor.stdout, new RegExp(`^FAIL {2}advertised listeners: you reached the broker at ${eip}:9092, but it tells clients to connect to ${wrongHost.replaceAll('.', '\\.')}:9092 .*which this Pi cannot reach`, 'm'), doctor.stdout);
      assert.match(doctor.stdout, /fix: on the broker set advertised\.listeners for EXTERNAL/);
    });
    stamp('done');
  });
}
