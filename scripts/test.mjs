// `npm test`: installs what the tests need, builds, starts one real Kafka
// broker for the run (its own state dir and ports, so a running demo is left
// alone), runs every test file with node's test runner, stops the broker.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, build, ensureDebianPackages, ensureNodeModules, kafka, kafkaRunning, step } from './lib.mjs';

const BROKER_ENV = {
  FRAMELINE_KAFKA_DIR: join(ROOT, '.cache/kafka-test'),
  KAFKA_INTERNAL_PORT: '29092',
  KAFKA_EXTERNAL_PORT: '29093',
  KAFKA_CONTROLLER_PORT: '29094',
};

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

ensureDebianPackages({ java: 'openjdk-17-jre-headless', mvn: 'maven', openssl: 'openssl', kcat: 'kcat', ffmpeg: 'ffmpeg', chromium: 'chromium' });
ensureNodeModules();
build();

const filter = process.argv.slice(2);
const files = ['shared', 'agent', 'cloud', 'test']
  .flatMap((pkg) => testFiles(join(ROOT, pkg, 'dist', 'test')))
  .filter((f) => filter.length === 0 || filter.some((pattern) => f.includes(pattern)))
  .sort();

const startedBroker = !kafkaRunning(BROKER_ENV);
step(startedBroker ? 'starting the test broker' : 'reusing the running test broker');
kafka(['up'], BROKER_ENV);

let status = 1;
try {
  step(`running ${files.length} test files`);
  for (const f of files) console.error(`   ${relative(ROOT, f)}`);
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', '--test-timeout=600000', ...files], {
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
