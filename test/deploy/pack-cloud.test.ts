// The cloud release that Terraform's consumer hosts install (`npm run
// pack:cloud`, cloud_release_path): built here for this machine's CPU so it
// can run, unpacked outside the checkout, and used as an operator would: its
// own bin infers a real CCTV frame with the models it carries. Converter and
// dev packages must not ride along.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@frameline/shared/testing';

const CPU = arch() === 'arm64' ? 'arm64' : 'x64';

test('pack:cloud builds a release that infers a real frame from outside the checkout, without converter or dev packages', { timeout: 600_000 }, (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'fl-pack-cloud-'));
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  const started = Date.now();
  const packed = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/pack.mjs'), 'cloud', '--cpu', CPU, '--out', scratch, '--no-build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = readdirSync(scratch).find((f) => f.endsWith('.tar.gz'));
  assert.ok(tarball, 'a tarball was written');
  t.diagnostic(`${tarball}: ${(statSync(join(scratch, tarball)).size / 1048576).toFixed(1)} MiB in ${((Date.now() - started) / 1000).toFixed(0)} s`);

  const unpacked = spawnSync('tar', ['-xzf', join(scratch, tarball), '-C', scratch]);
  assert.equal(unpacked.status, 0, String(unpacked.stderr));
  const release = join(scratch, tarball.replace(/\.tar\.gz$/, ''));
  for (const file of ['bin/frameline-cloud.js', 'dist/src/cli/main.js', 'models/pose_detection.onnx', 'models/pose_landmark_lite.onnx', 'models/NOTICE', 'web/index.html', 'deploy/frameline-cloud.service', 'node_modules/@frameline/shared/topics.json', 'node_modules/onnxruntime-node/package.json']) {
    assert.ok(existsSync(join(release, file)), `${file} is in the release`);
  }
  for (const absent of ['@mediapipe', '@vladmandic', '@frameline/onnx-convert', 'typescript', 'playwright-core', 'dist/test']) {
    assert.ok(!existsSync(join(release, 'node_modules', absent)) && !existsSync(join(release, absent)), `${absent} is not in the release`);
  }
  // One native onnxruntime binding (this OS and CPU), and no unlicensed CenterNet weights.
  const bindings = join(release, 'node_modules/onnxruntime-node/bin/napi-v6');
  assert.deepEqual(readdirSync(bindings), ['linux']);
  assert.deepEqual(readdirSync(join(bindings, 'linux')), [CPU]);
  assert.ok(!existsSync(join(release, 'models/centernet.onnx')), 'centernet.onnx is not shipped');

  // Run from the unpacked release with no checkout around it: models, shared's topic list and onnxruntime all come from the release.
  const frame = join(REPO_ROOT, 'cloud/test/fixtures/vtest_frame.jpg');
  const inferred = spawnSync(process.execPath, [join(release, 'bin/frameline-cloud.js'), 'infer', frame], { cwd: scratch, encoding: 'utf8', timeout: 300_000 });
  assert.equal(inferred.status, 0, inferred.stderr);
  const record = JSON.parse(inferred.stdout.trim().split('\n')[0]!) as { persons: unknown[] };
  t.diagnostic(`the release's infer found ${record.persons.length} persons on the CCTV frame`);
  assert.ok(record.persons.length >= 3, `persons found: ${record.persons.length}`);
});
