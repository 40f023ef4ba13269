import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { schemaLeaves } from '@frameline/shared';
import { cloudSchema, loadCloudConfig } from '../src/config.js';
import { poseModelOptions } from '../src/inference/pool/model.js';

const EXAMPLE = fileURLToPath(new URL('../../../config/cloud.example.json', import.meta.url));

test('config/cloud.example.json loads and documents every key of the schema', () => {
  // The example names its password file relative to itself.
  const dir = mkdtempSync(join(tmpdir(), 'fl-cloud-example-'));
  cpSync(EXAMPLE, join(dir, 'cloud.json'));
  mkdirSync(join(dir, 'secrets'));
  writeFileSync(join(dir, 'secrets/cloud.password'), 'pw-cloud');
  const c = loadCloudConfig({ file: join(dir, 'cloud.json'), env: {} });
  assert.equal(c.kafka.passwordFile?.reveal(), 'pw-cloud');
  assert.equal(c.model.detector, 'multi', 'security cameras see several small people: top-down by default');
  const text = readFileSync(EXAMPLE, 'utf8');
  for (const { key } of schemaLeaves(cloudSchema)) {
    assert.match(text, new RegExp(`"${key.split('.').at(-1)}":`), `${key} appears in the example`);
  }
});

test('model options map to the inference stage: multi is the tiled detector', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-cloud-cfg-'));
  writeFileSync(join(dir, 'pw'), 'pw');
  const file = join(dir, 'c.json');
  writeFileSync(file, JSON.stringify({ kafka: { passwordFile: 'pw' }, model: { variant: 'lite', threads: 2 } }));
  const o = poseModelOptions(loadCloudConfig({ file, env: {} }).model) as unknown as { kind: string; variant: string; detector: { mode: string }; threads: number };
  assert.equal(o.kind, 'blazepose');
  assert.equal(o.variant, 'lite');
  assert.equal(o.detector.mode, 'tiled');
  assert.equal(o.threads, 2);
});

test('frameline-cloud check-config exits 78 naming each bad key, its value and the file', async () => {
  const { spawnSync } = await import('node:child_process');
  const bin = fileURLToPath(new URL('../../bin/frameline-cloud.js', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'fl-cloud-bad-'));
  const file = join(dir, 'cloud.json');
  writeFileSync(file, '// typo and a bad duration\n{ "scheduler": { "maxLagMs": "soon" }, "modle": {} }');
  const r = spawnSync(process.execPath, [bin, 'check-config', '--config', file], { encoding: 'utf8' });
  assert.equal(r.status, 78);
  assert.match(r.stderr, new RegExp(`invalid configuration in ${file.replace(/[.]/g, '\\.')}`));
  assert.match(r.stderr, /scheduler\.maxLagMs: must be a duration.*value was "soon"/);
  assert.match(r.stderr, /modle: unknown key/);
});
