// `npm start`: the whole pipeline on this machine. Installs what it needs,
// builds, starts the local broker (deploy/kafka/kafka.sh), the cloud service
// and three agents replaying a real CCTV video as CAMERA-1..3, then prints a
// line per camera every few seconds from the results topic. Ctrl-C stops
// everything this script started.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ROOT, build, ensureDebianPackages, ensureNodeModules, kafka, kafkaRunning, step } from './lib.mjs';

ensureDebianPackages({ java: 'openjdk-17-jre-headless', mvn: 'maven', openssl: 'openssl', ffmpeg: 'ffmpeg' });
ensureNodeModules();
build();

const startedBroker = !kafkaRunning({});
step('starting the local broker');
kafka(['up'], {});

const children = [];
function start(name, args) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  // Prefix each line so four processes stay readable in one terminal.
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (b) => {
      const lines = (rest + b.toString()).split('\n');
      rest = lines.pop();
      for (const line of lines) if (!/ DEBUG /.test(line)) process.stdout.write(`${name.padEnd(9)}| ${line}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    if (stopping) return;
    // One agent going away is what the fleet view is for: the demo goes on without it.
    if (children.indexOf(child) > 0) {
      console.error(`${name} exited (${code ?? signal}); the demo goes on without it (the fleet view shows it offline after the cloud's fleet.offlineAfter)`);
      return;
    }
    console.error(`${name} exited (${code ?? signal}); stopping the demo`);
    void stop();
  });
  children.push(child);
  return child;
}

// The dashboard's address: http.listen of the demo's cloud config (loopback, so no token).
const listen = /"listen":\s*"([^"]+)"/.exec(readFileSync(join(ROOT, 'config/demo/cloud.json'), 'utf8'))[1];
const DASHBOARD = `http://${listen}/`;
step(`starting the cloud service (dashboard ${DASHBOARD}, ${DASHBOARD}metrics, ${DASHBOARD}healthz)`);
start('cloud', ['cloud/bin/frameline-cloud.js', 'run', '--config', 'config/demo/cloud.json']);
step('starting three agents replaying agent/test/fixtures/vtest.mp4 as CAMERA-1..3');
for (const i of [1, 2, 3]) start(`CAMERA-${i}`, ['agent/bin/frameline-agent.js', 'run', '--config', `config/demo/agent-${i}.json`]);

/** Prints the dashboard's address once its server answers (the model loads first, which takes a while). */
async function announceDashboard() {
  while (!stopping) {
    const up = await fetch(`${DASHBOARD}healthz`).then(() => true, () => false);
    if (up) {
      process.stdout.write(`\n    live dashboard: ${DASHBOARD}  (open it in a browser)\n\n`);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

// A compact text view of what the cloud publishes, next to the dashboard.
const { readClientProperties } = await import('../deploy/kafka/provision.mjs');
const { Secret, createKafka, createLogger } = await import('@frameline/shared');
const props = readClientProperties(join(ROOT, '.cache/kafka/client.properties'));
const logger = createLogger({ level: 'warn', scope: 'demo' });
const consumer = createKafka({
  brokers: [props['bootstrap.internal']], clientId: 'frameline-demo-view', security: 'sasl_plaintext', username: 'cloud',
  password: new Secret(readFileSync(props['sasl.cloud.password.file'], 'utf8').trim(), props['sasl.cloud.password.file']),
}, logger).consumer({ groupId: `frameline-demo-view-${randomUUID().slice(0, 8)}` });
await consumer.connect();
await consumer.subscribe({ topic: 'video.inferences', fromBeginning: false });
const latest = new Map();
await consumer.run({
  eachMessage: async ({ message }) => {
    const r = JSON.parse(message.value.toString());
    const s = latest.get(r.camera) ?? { count: 0 };
    latest.set(r.camera, { count: s.count + 1, persons: r.persons.length, ageMs: (r.publishedAt ?? r.inferredAt) - r.capturedAt, seq: r.seq });
  },
});
const view = setInterval(() => {
  for (const [camera, s] of [...latest].sort()) {
    process.stdout.write(`results  | ${camera}: ${s.count} frames inferred in 5 s, last seq ${s.seq}, ${s.persons} persons, ${Math.round(s.ageMs)} ms capture-to-result\n`);
    s.count = 0;
  }
}, 5000);

/** Resolves once the child has exited; one killed by a signal has signalCode set and exitCode null. */
const exited = (c) => (c.exitCode !== null || c.signalCode !== null ? null : new Promise((r) => c.once('exit', r)));

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  clearInterval(view);
  await consumer.disconnect().catch(() => {});
  // Agents first (they flush to the broker), then the cloud, then the broker.
  const agents = children.slice(1);
  for (const c of agents) c.kill('SIGTERM');
  await Promise.all(agents.map(exited));
  children[0].kill('SIGTERM');
  await exited(children[0]);
  if (startedBroker) kafka(['down'], {});
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
void announceDashboard();
