// Bad configuration, as operators write it: every case exits 78 (EX_CONFIG,
// RestartPreventExitStatus in the units) naming the key and the file, from
// `check-config` and from `run` alike, and `run` starts nothing first (no
// listener, no broker connection, no spool directory). Real bins, no broker.
// Cost: about 20-60 s (39 node processes, six at a time).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@frameline/shared/testing';

const BINS = { agent: join(REPO_ROOT, 'agent/bin/frameline-agent.js'), cloud: join(REPO_ROOT, 'cloud/bin/frameline-cloud.js') };
const dir = mkdtempSync(join(tmpdir(), 'fl-bad-config-'));
const PASSWORD = join(dir, 'password');
writeFileSync(PASSWORD, 'a-good-password\n');
writeFileSync(join(dir, 'password-two-newlines'), 'a-good-password\n\n');
writeFileSync(join(dir, 'password-trailing-space'), 'a-good-password \n');
writeFileSync(join(dir, 'not-a-ca.pem'), 'hello\n');
mkdirSync(join(dir, 'a-directory'));

interface Case {
  name: string;
  program: 'agent' | 'cloud';
  /** JSON text of the config file (so broken syntax can be written too). */
  config: string;
  /** The key the message must name. */
  key: string;
  env?: Record<string, string>;
}

const json = (o: object) => JSON.stringify(o);
const agent = (o: Record<string, unknown>) => json({ camera: { source: 'synthetic' }, kafka: { passwordFile: PASSWORD, caFile: '' }, stateDir: join(dir, 'state'), ...o });
const cloud = (o: Record<string, unknown>) => json({ kafka: { passwordFile: PASSWORD }, ...o });
const agentKafka = (k: Record<string, unknown>) => agent({ kafka: { passwordFile: PASSWORD, caFile: '', ...k } });
const cloudKafka = (k: Record<string, unknown>) => cloud({ kafka: { passwordFile: PASSWORD, ...k } });

const CASES: Case[] = [
  { name: 'wrong type: maxBatch is a word', program: 'cloud', config: cloud({ scheduler: { maxBatch: 'four' } }), key: 'scheduler.maxBatch' },
  { name: 'unknown key (typo)', program: 'cloud', config: cloud({ ingest: { maxFrameByte: '8MiB' } }), key: 'ingest.maxFrameByte' },
  { name: 'unknown section', program: 'agent', config: agent({ camra: { id: 'CAMERA-1' } }), key: 'camra.id' },
  { name: 'missing password file', program: 'cloud', config: cloudKafka({ passwordFile: join(dir, 'nope') }), key: 'kafka.passwordFile' },
  { name: 'unreadable password file (a directory)', program: 'agent', config: agentKafka({ passwordFile: join(dir, 'a-directory') }), key: 'kafka.passwordFile' },
  { name: 'password file ending in two newlines', program: 'cloud', config: cloudKafka({ passwordFile: join(dir, 'password-two-newlines') }), key: 'kafka.passwordFile' },
  { name: 'password file ending in a space', program: 'agent', config: agentKafka({ passwordFile: join(dir, 'password-trailing-space') }), key: 'kafka.passwordFile' },
  { name: 'credential: without $CREDENTIALS_DIRECTORY', program: 'agent', config: agentKafka({ passwordFile: 'credential:kafka-password' }), key: 'kafka.passwordFile' },
  { name: 'sasl without a password file', program: 'cloud', config: json({ kafka: { security: 'sasl_plaintext' } }), key: 'kafka.passwordFile' },
  { name: 'missing CA file', program: 'agent', config: agentKafka({ caFile: join(dir, 'no-ca.pem') }), key: 'kafka.caFile' },
  { name: 'CA file that is no certificate', program: 'cloud', config: cloudKafka({ security: 'sasl_ssl', caFile: join(dir, 'not-a-ca.pem') }), key: 'kafka.caFile' },
  { name: 'negative byte limit', program: 'cloud', config: cloud({ ingest: { maxFrameBytes: '-1MiB' } }), key: 'ingest.maxFrameBytes' },
  { name: 'zero lag bound', program: 'cloud', config: cloud({ scheduler: { maxLagMs: 0 } }), key: 'scheduler.maxLagMs' },
  { name: 'zero pixel limit', program: 'cloud', config: cloud({ ingest: { maxFramePixels: 0 } }), key: 'ingest.maxFramePixels' },
  { name: 'negative fps', program: 'agent', config: agent({ camera: { source: 'synthetic', fps: -5 } }), key: 'camera.fps' },
  { name: 'spool size not a size', program: 'agent', config: agent({ delivery: { spool: { maxBytes: 'lots' } } }), key: 'delivery.spool.maxBytes' },
  { name: 'pixel limit below the camera mode', program: 'agent', config: agent({ camera: { source: 'synthetic', width: 4608, height: 2592 }, pipeline: { maxFramePixels: 2_000_000 } }), key: 'pipeline.maxFramePixels' },
  { name: 'camera id with a path in it', program: 'agent', config: agent({ camera: { source: 'synthetic', id: 'FIELD/../../etc' } }), key: 'camera.id' },
  { name: 'camera id of 3000 characters', program: 'agent', config: agent({ camera: { source: 'synthetic', id: 'C'.repeat(3000) } }), key: 'camera.id' },
  { name: 'partition camera prefix making bad ids', program: 'cloud', config: cloud({ ingest: { cameraFrom: 'partition', cameraPrefix: 'cam/' } }), key: 'ingest.cameraPrefix' },
  { name: 'unknown delivery mode', program: 'agent', config: agent({ delivery: { mode: 'fast' } }), key: 'delivery.mode' },
  { name: 'broker address without a port', program: 'agent', config: agentKafka({ brokers: 'broker.example.com' }), key: 'kafka.brokers' },
  { name: 'broker address with a bad port', program: 'cloud', config: cloudKafka({ brokers: '127.0.0.1:notaport' }), key: 'kafka.brokers' },
  { name: 'metrics listen address without a port', program: 'agent', config: agent({ metrics: { listen: 'everywhere' } }), key: 'metrics.listen' },
  { name: 'http listen not host:port', program: 'cloud', config: cloud({ http: { listen: '0.0.0.0' } }), key: 'http.listen' },
  { name: 'score out of 0..1', program: 'cloud', config: cloud({ model: { minDetectionScore: 1.5 } }), key: 'model.minDetectionScore' },
  { name: 'fetch size not above frame size', program: 'cloud', config: cloud({ kafka: { passwordFile: PASSWORD, maxFetchBytes: '1MiB' } }), key: 'kafka.maxFetchBytes' },
  { name: 'broken JSON syntax', program: 'cloud', config: '{ "kafka": { "brokers": ', key: '(syntax)' },
  { name: 'config file missing', program: 'agent', config: '', key: '(file)' },
];

function runBin(program: 'agent' | 'cloud', args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [BINS[program], ...args], { env: { PATH: process.env.PATH, HOME: dir, ...env }, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0, out: stdout + stderr }));
    child.stdin?.end();
  });
}

async function inBatches<T, R>(items: T[], size: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...(await Promise.all(items.slice(i, i + size).map(fn))));
  return out;
}

test(`${CASES.length} bad configs: check-config and run both exit 78 naming the key and the file; run starts nothing`, async () => {
  assert.ok(CASES.length >= 20);
  const rows = await inBatches(CASES, 6, async (c) => {
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.json`);
    if (c.config !== '') writeFileSync(file, c.config);
    const check = await runBin(c.program, ['check-config', '--config', file], c.env);
    // `run` goes through the same loading; every third case proves it on the real command too.
    const run = CASES.indexOf(c) % 3 === 0 ? await runBin(c.program, ['run', '--config', file], c.env) : undefined;
    return { c, file, check, run };
  });
  const table = rows.map(({ c, check, run }) => ({ case: c.name, program: c.program, check: check.code, run: run?.code ?? '-', message: check.out.split('\n').find((l) => l.includes(c.key))?.trim().slice(0, 100) ?? '' }));
  console.table(table);
  for (const { c, file, check, run } of rows) {
    for (const [what, r] of [['check-config', check], ...(run ? [['run', run]] : [])] as [string, { code: number; out: string }][]) {
      assert.equal(r.code, 78, `${c.name} (${what}): exit ${r.code}\n${r.out}`);
      assert.ok(r.out.includes(file), `${c.name} (${what}) names the file:\n${r.out}`);
      assert.ok(r.out.split('\n').some((l) => l.trimStart().startsWith(`${c.key}:`)), `${c.name} (${what}) names ${c.key}:\n${r.out}`);
      assert.doesNotMatch(r.out, /^\s+at /m, `${c.name} (${what}): no stack trace`);
      assert.doesNotMatch(r.out, /a-good-password/, `${c.name} (${what}): no secret in the output`);
    }
    if (run) assert.doesNotMatch(run.out, /listening|agent started|consuming|Starting/, `${c.name}: run started something:\n${run.out}`);
  }
  assert.ok(!existsSync(join(dir, 'state')), 'no agent run created its state/spool directory');
});
