import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type convict from 'convict';
import { ConfigError, Secret, loadConfig, parseBootstrap, parseByteSize, parseDuration } from '../src/index.js';

interface Sample {
  kafka: { brokers: string[]; username: string; passwordFile: Secret | null };
  spool: { maxBytes: number; maxAge: number };
  fps: number;
}

const schema: convict.Schema<Sample> = {
  kafka: {
    brokers: { doc: 'bootstrap', format: 'bootstrap-list', default: ['localhost:9092'], env: 'FL_BROKERS' },
    username: { doc: 'user', format: String, default: 'agent' },
    passwordFile: { doc: 'password file', format: 'secret-file', default: null, sensitive: true, env: 'FL_PASSWORD_FILE' },
  },
  spool: {
    maxBytes: { doc: 'spool bytes', format: 'byte-size', default: '64MiB' as unknown as number },
    maxAge: { doc: 'spool age', format: 'duration', default: '1h' as unknown as number },
  },
  fps: { doc: 'fps', format: 'positive-number', default: 10 },
};

const dir = mkdtempSync(join(tmpdir(), 'fl-config-'));
function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text, { mode: 0o600 });
  return p;
}

test('units: durations, byte sizes and bootstrap lists parse; bad ones say what is expected', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration(250), 250);
  assert.equal(parseByteSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseByteSize('2GB'), 2e9);
  assert.deepEqual(parseBootstrap('a.example:9092, 10.0.0.1:19092'), ['a.example:9092', '10.0.0.1:19092']);
  assert.throws(() => parseDuration('soon'), /duration/);
  assert.throws(() => parseByteSize('12 parsecs'), /byte size/);
  assert.throws(() => parseBootstrap('nohostport'), /host:port/);
});

test('a commented JSON file, env vars and secret files load into typed values', () => {
  const pw = file('kafka.pw', 's3cr3t-value\n');
  const cfg = file('ok.json', `// agent config\n{ "kafka": { "passwordFile": "kafka.pw" /* relative to this file */ }, "spool": { "maxBytes": "1GiB", "maxAge": "10m" } }`);
  const c = loadConfig(schema, { file: cfg, env: { FL_BROKERS: 'b1:9092,b2:9092' } });
  assert.deepEqual(c.kafka.brokers, ['b1:9092', 'b2:9092']);
  assert.equal(c.spool.maxBytes, 1024 ** 3);
  assert.equal(c.spool.maxAge, 600_000);
  assert.ok(c.kafka.passwordFile instanceof Secret);
  assert.equal(c.kafka.passwordFile.reveal(), 's3cr3t-value');
  assert.equal(c.kafka.passwordFile.source, pw);
  assert.doesNotMatch(JSON.stringify(c), /s3cr3t/);
});

test('secrets resolve from $CREDENTIALS_DIRECTORY by bare name or credential: prefix', () => {
  const creds = mkdtempSync(join(tmpdir(), 'fl-creds-'));
  writeFileSync(join(creds, 'kafka-password'), 'from-systemd');
  for (const ref of ['kafka-password', 'credential:kafka-password']) {
    const c = loadConfig(schema, { env: { CREDENTIALS_DIRECTORY: creds, FL_PASSWORD_FILE: ref } });
    assert.equal(c.kafka.passwordFile?.reveal(), 'from-systemd');
  }
});

function issuesOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('unknown keys, bad values and unreadable secrets are errors naming key, value and file', () => {
  const cfg = file('bad.json', '{ "fsp": 10, "fps": -2, "spool": { "maxAge": "soon" } }');
  const err = issuesOf(() => loadConfig(schema, { file: cfg, env: {} }));
  assert.equal(err.source, cfg);
  assert.match(err.message, new RegExp(cfg.replace(/[.]/g, '\\.')));
  assert.match(err.message, /fsp: unknown key/);
  assert.match(err.message, /fps: must be a number greater than 0: value was -2/);
  assert.match(err.message, /spool\.maxAge: must be a duration.*value was "soon"/);
  const missing = issuesOf(() => loadConfig(schema, { file: file('pw.json', '{"kafka":{"passwordFile":"nope.pw"}}'), env: {} }));
  assert.match(missing.message, /kafka\.passwordFile: cannot read secret file .*nope\.pw \(ENOENT\)/);
  const syntax = issuesOf(() => loadConfig(schema, { file: file('syntax.json', '{ "fps": 3,, }'), env: {} }));
  assert.match(syntax.message, /\(syntax\)/);
});

test('a sensitive key with a bad value never shows the value', () => {
  const err = issuesOf(() => loadConfig(schema, { file: file('sens.json', '{"kafka":{"passwordFile": 12345678}}'), env: {} }));
  assert.match(err.message, /kafka\.passwordFile/);
  assert.doesNotMatch(err.message, /12345678/);
});

test('a program that gets a bad config exits 78 and names the key, the value and the file', () => {
  const cfg = file('exit.json', '{ "fps": "fast" }');
  const loader = fileURLToPath(new URL('../src/index.js', import.meta.url));
  const script = `
    import { loadConfig, exitOnConfigError } from ${JSON.stringify(loader)};
    try { loadConfig({ fps: { doc: 'fps', format: 'positive-number', default: 1 } }, { file: ${JSON.stringify(cfg)} }); }
    catch (err) { exitOnConfigError(err); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 78, r.stderr);
  assert.match(r.stderr, /exit\.json/);
  assert.match(r.stderr, /fps: must be a number greater than 0: value was "?fast"?|fps: must be a number greater than 0/);
});
