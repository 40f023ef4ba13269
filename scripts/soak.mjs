// `npm run soak [-- --minutes N] [--seed S] [--fps F] [--clouds 1|2]`: installs
// what it needs, builds, and runs the soak (test/soak/soak.ts) against a broker
// of its own. Not part of `npm test`. Exit 1 when an acknowledged frame was
// lost, a process died on its own, or a fuzzer failed. Figures go to
// test/artifacts/soak-<time>.{json,md} and stdout.
import { parseArgs } from 'node:util';
import { ROOT, build, ensureDebianPackages, ensureNodeModules, step } from './lib.mjs';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    fps: { type: 'string', default: '5' },
    clouds: { type: 'string', default: '2' },
  },
});
const options = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Number(v)]));
for (const [k, v] of Object.entries(options)) {
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${k} must be a positive number, not "${values[k]}"`);
    process.exit(64);
  }
}

ensureDebianPackages({ java: 'openjdk-17-jre-headless', mvn: 'maven', openssl: 'openssl', kcat: 'kcat', nice: 'coreutils' });
ensureNodeModules();
build();
step(`soak: ${options.minutes} min, seed ${options.seed} (replay with --seed ${options.seed})`);
const { runSoak } = await import(`${ROOT}/test/dist/soak/soak.js`);
process.exit(await runSoak(options));
