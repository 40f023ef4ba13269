// `npm start`: the whole pipeline on this machine. Installs what it needs,
// builds, starts the local broker (deploy/kafka/kafka.sh), then the demo
// traffic; Ctrl-C stops everything this script started.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT, build, ensureDebianPackages, ensureNodeModules, kafka, kafkaRunning, step } from './lib.mjs';

ensureDebianPackages({ java: 'openjdk-17-jre-headless', mvn: 'maven', openssl: 'openssl', ffmpeg: 'ffmpeg' });
ensureNodeModules();
build();

const startedBroker = !kafkaRunning({});
step('starting the local broker');
kafka(['up'], {});
const props = join(ROOT, '.cache/kafka/client.properties');

step('producing frames over EXTERNAL and consuming them over INTERNAL (Ctrl-C to stop)');
const children = [spawn(process.execPath, [join(ROOT, 'scripts/smoke.mjs'), props], { stdio: 'inherit', cwd: ROOT })];

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null ? null : new Promise((r) => c.once('exit', r)))));
  if (startedBroker) kafka(['down'], {});
  process.exit(0);
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
for (const c of children) c.on('exit', (code) => { if (!stopping) { console.error(`demo process exited (${code}); stopping`); void stop(); } });
