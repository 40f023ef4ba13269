// `npm test`: installs what the tests need, builds, starts one real Kafka
// broker for the run (its own state dir and ports, so a running demo is left
// alone), runs every test file with node's test runner, stops the broker.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, build, ensureDebianPackages, ensureMoto, ensureNodeModules, kafka, kafkaRunning, step } from './lib.mjs';

const STATE_DIR = join(ROOT, '.cache/kafka-test');

function portFree(port) {
  return new Promise((resolve) => {
    // A JVM listens on ::ffff:127.0.0.1, which an IPv4 listen() here does not
    // collide with: a connection that succeeds is what tells the port is taken.
    const probe = connect({ port, host: '127.0.0.1' });
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', () => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
  });
}

/** 29092-29094 unless another checkout's broker holds them: then the next free triple. */
async function brokerEnv() {
  const env = { FRAMELINE_KAFKA_DIR: STATE_DIR };
  if (kafkaRunning(env)) {
    // ours from an earlier run: reuse its ports
    const props = readFileSync(join(STATE_DIR, 'run/server.properties'), 'utf8');
    const port = (name) => new RegExp(`${name}://127.0.0.1:(\\d+)`).exec(props)[1];
    return { ...env, KAFKA_INTERNAL_PORT: port('INTERNAL'), KAFKA_EXTERNAL_PORT: port('EXTERNAL'), KAFKA_CONTROLLER_PORT: port('CONTROLLER') };
  }
  for (let base = 29092; base < 29992; base += 10) {
    const free = await Promise.all([base, base + 1, base + 2].map(portFree));
    if (free.every(Boolean)) {
      return { ...env, KAFKA_INTERNAL_PORT: String(base), KAFKA_EXTERNAL_PORT: String(base + 1), KAFKA_CONTROLLER_PORT: String(base + 2) };
    }
  }
  throw new Error('no free ports for the test broker between 29092 and 29992');
}

function testFiles(dir) {
  const out = [];
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...testFiles(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** tsc -b leaves the outputs of deleted or moved sources behind: run only tests whose .ts source still exists. */
function hasSource(compiled) {
  const source = relative(ROOT, compiled).replace(/(^|\/)dist\//, '$1').replace(/\.js$/, '.ts');
  if (existsSync(join(ROOT, source))) return true;
  console.error(`   (skipping ${relative(ROOT, compiled)}: its source ${source} is gone)`);
  return false;
}

ensureDebianPackages({ java: 'openjdk-17-jre-headless', mvn: 'maven', openssl: 'openssl', kcat: 'kcat', ffmpeg: 'ffmpeg', python3: 'python3', 'systemd-notify': 'systemd', ip: 'iproute2' });
// The dashboard's browser test drives Debian's chromium with playwright-core.
ensureDebianPackages({ chromium: 'chromium' });
// The broker's deploy tests: the security group as nftables rules, shellcheck, IMDS/SSM over curl.
ensureDebianPackages({ nft: 'nftables', shellcheck: 'shellcheck', curl: 'curl', 'systemd-analyze': 'systemd' });
// deploy/pi tests: a Debian root (arm64 under emulation), shellcheck, cloud-init's schema
ensureDebianPackages({ debootstrap: 'debootstrap', 'qemu-aarch64-static': 'qemu-user-static', shellcheck: 'shellcheck', 'cloud-init': 'cloud-init' });
// test/reliability/clock-jump: the agent's wall clock stepped by libfaketime
ensureDebianPackages({ faketime: 'faketime' });
ensureNodeModules();
ensureMoto();
build();

const filter = process.argv.slice(2);
const files = ['shared/dist/test', 'agent/dist/test', 'cloud/dist/test', 'tools/onnx-convert/dist/test', 'test/dist']
  .flatMap((dir) => testFiles(join(ROOT, dir)))
  .filter((f) => filter.length === 0 || filter.some((pattern) => f.includes(pattern)))
  .filter(hasSource)
  .sort();

if (files.some((f) => f.includes('pi-install'))) {
  step('preparing the Debian root for the Pi install tests (debootstrap once, cached in ~/.cache/frameline)');
  (await import('../test/dist/deploy/pi-root.js')).prepareRoot();
}

const BROKER_ENV = await brokerEnv();
const startedBroker = !kafkaRunning(BROKER_ENV);
step(startedBroker ? 'starting the test broker' : 'reusing the running test broker');
kafka(['up'], BROKER_ENV);

let status = 1;
try {
  step(`running ${files.length} test files`);
  for (const f of files) console.error(`   ${relative(ROOT, f)}`);
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', '--test-timeout=600000', ...files], {
    stdio: 'inherit',
    cwd: ROOT,
    env: { ...process.env, FRAMELINE_KAFKA_PROPS: join(BROKER_ENV.FRAMELINE_KAFKA_DIR, 'client.properties') },
  });
  status = r.status ?? 1;
} finally {
  if (startedBroker) {
    step('stopping the test broker');
    kafka(['down'], BROKER_ENV);
  }
}
process.exit(status);
