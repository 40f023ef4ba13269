import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, schemaLeaves } from '@frameline/shared';
import { agentSchema, deliveryOptions, loadAgentConfig, spoolDir } from '../src/config.js';

const EXAMPLE = fileURLToPath(new URL('../../../config/agent.example.json', import.meta.url));

test('config/agent.example.json loads and documents every key of the schema', () => {
  const creds = mkdtempSync(join(tmpdir(), 'fl-creds-'));
  writeFileSync(join(creds, 'kafka-password'), 'pw-from-credentials');
  const c = loadAgentConfig({ file: EXAMPLE, env: { CREDENTIALS_DIRECTORY: creds } });
  assert.equal(c.kafka.passwordFile?.reveal(), 'pw-from-credentials');
  const text = readFileSync(EXAMPLE, 'utf8');
  for (const { key } of schemaLeaves(agentSchema)) {
    const leaf = key.split('.').at(-1)!;
    assert.match(text, new RegExp(`"${leaf}":`), `${key} appears in the example`);
  }
});

test('durations and sizes become typed numbers for the delivery stage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-cfg-'));
  writeFileSync(join(dir, 'pw'), 'x-password');
  const file = join(dir, 'agent.json');
  writeFileSync(file, JSON.stringify({
    camera: { id: 'CAMERA-7', source: 'synthetic' },
    kafka: { passwordFile: 'pw', caFile: 'ca.pem' },
    stateDir: 'state',
    delivery: { mode: 'reliable', backfill: 'separate', spool: { maxBytes: '256MiB', maxAge: '6h', fsync: 'always' }, drainRate: { framesPerSec: 20 } },
  }));
  const c = loadAgentConfig({ file, env: {} });
  const d = deliveryOptions(c);
  assert.equal(d.spool?.maxBytes, 256 * 2 ** 20);
  assert.equal(d.spool?.maxAgeMs, 6 * 3_600_000);
  assert.equal(d.spool?.fsync, 'always');
  assert.deepEqual(d.drainRate, { framesPerSec: 20 });
  assert.equal(d.kafka.caFile, join(dir, 'ca.pem'), 'relative paths are relative to the config file');
  assert.equal(spoolDir(c), join(dir, 'state/spool/CAMERA-7'));
});

test('cross-key rules: sasl needs a password, camera-index needs a numbered id', () => {
  assert.throws(() => loadAgentConfig({ env: { FRAMELINE_CAMERA_SOURCE: 'synthetic' } }), (err: unknown) => err instanceof ConfigError && /kafka\.passwordFile: is required/.test(err.message));
  const dir = mkdtempSync(join(tmpdir(), 'fl-cfg-'));
  writeFileSync(join(dir, 'pw'), 'x-password');
  const file = join(dir, 'a.json');
  writeFileSync(file, JSON.stringify({ camera: { id: 'garage' }, partitioning: 'camera-index', kafka: { passwordFile: 'pw' } }));
  assert.throws(() => loadAgentConfig({ file, env: {} }), /partitioning: "camera-index" needs camera\.id to end in a number/);
});
