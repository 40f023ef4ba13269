// `frameline-cloud infer` on a mix of bad and good images, as a user runs
// it: one error line per bad image (no stack trace), a result per good one,
// and a non-zero exit status at the end. The pixel bomb is refused from its
// header, so this stays quick and small. Cost: about 10-20 s (model load).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '@frameline/shared/testing';
import { pixelBombJpeg } from '@frameline/shared/testing/jpegs';

const BIN = join(REPO_ROOT, 'cloud/bin/frameline-cloud.js');

test('infer: one error line per bad image, a result per good one, exit 65 at the end, no stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fl-infer-errors-'));
  const good = join(REPO_ROOT, 'cloud/test/fixtures/vtest_frame.jpg');
  const bytes = readFileSync(good);
  const truncated = join(dir, 'truncated.jpg');
  writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
  const padded = join(dir, 'padded.jpg');
  writeFileSync(padded, Buffer.concat([bytes, Buffer.alloc(64)]));
  const bomb = join(dir, 'bomb.jpg');
  writeFileSync(bomb, await pixelBombJpeg());
  const missing = join(dir, 'missing.jpg');
  const second = join(dir, 'second.jpg');
  copyFileSync(good, second);
  const config = join(dir, 'cloud.json');
  writeFileSync(config, JSON.stringify({ kafka: { security: 'plaintext' }, model: { variant: 'lite' } }));

  const images = [truncated, good, bomb, missing, padded, second];
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, 'infer', '--config', config, ...images], { maxBuffer: 1 << 24 }, (err, stdout, stderr) =>
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr }));
  });
  const results = stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { frame: { source: string; width: number } });
  const errors = stderr.split('\n').filter((l) => images.some((p) => l.startsWith(`${p}: `)));
  console.log(`exit ${code}; ${results.length} results; errors:\n${errors.join('\n')}`);
  assert.equal(code, 65, stderr);
  assert.deepEqual(results.map((r) => r.frame.source), [good, padded, second], 'a result per good image, in order; padding after EOI is harmless');
  assert.equal(errors.length, 3, stderr);
  assert.match(errors.find((l) => l.startsWith(truncated))!, /truncated|premature|corrupt|VipsJpeg/i);
  assert.match(errors.find((l) => l.startsWith(bomb))!, /too-many-pixels: image is 16000×16000 = 256000000 pixels, limit is 16777216/);
  assert.match(errors.find((l) => l.startsWith(missing))!, /ENOENT/);
  assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
});
