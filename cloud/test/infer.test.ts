/// <reference types="node" />
/**
 * `inferCommand` end to end on the fixture images: record lines in the
 * `video.inferences` schema and overlay images. Needs the converted models.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';
import sharp from 'sharp';
import { inferCommand, type InferenceRecord } from '../src/cli/infer.js';
import { BLAZEPOSE_KEYPOINTS } from '../src/inference/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures');

test('inferCommand prints one JSON record per image with 33 frame-coordinate keypoints per person and writes overlays', async () => {
  const outDir = await mkdtemp(join(tmpdir(), 'fl-infer-'));
  try {
    const images = [join(fixtures, 'vtest_frame.jpg'), join(fixtures, 'astronaut.png')];
    const lines: string[] = [];
    await inferCommand({ images, outDir, model: { variant: 'lite' }, write: (l) => lines.push(l) }, createLogger({ level: 'warn' }));

    assert.equal(lines.length, 2);
    const records = lines.map((l) => JSON.parse(l) as InferenceRecord);
    const sizes = [[768, 576], [512, 512]];
    records.forEach((r, i) => {
      assert.equal(r.schema, 1);
      assert.equal(r.camera, 'file');
      assert.equal(r.run, 'infer');
      assert.equal(r.seq, i);
      assert.equal(r.model, 'blazepose-lite');
      assert.deepEqual(r.frame, { width: sizes[i]![0], height: sizes[i]![1], source: images[i] });
      assert.ok(r.capturedAt > 0 && r.ingestedAt >= r.capturedAt && r.inferredAt >= r.ingestedAt);
      for (const key of ['decodeMs', 'detectMs', 'landmarksMs'] as const) assert.ok((r.timings[key] ?? 0) > 0, key);
      assert.ok(r.persons.length >= 1);
      for (const p of r.persons) {
        assert.deepEqual(p.keypoints.map((k) => k.name), BLAZEPOSE_KEYPOINTS);
        const [x, y, w, h] = p.box;
        assert.ok(x >= 0 && y >= 0 && x + w <= r.frame.width + 1e-6 && y + h <= r.frame.height + 1e-6, `box ${p.box}`);
        // visible keypoints lie inside the frame, near the person's box (frame px, not crop or normalised)
        for (const k of p.keypoints.filter((q) => q.visibility >= 0.5)) {
          assert.ok(k.x >= x - 0.2 * w && k.x <= x + 1.2 * w && k.y >= y - 0.2 * h && k.y <= y + 1.2 * h, `${k.name} (${k.x}, ${k.y}) outside box ${p.box}`);
          assert.equal(typeof k.z, 'number');
        }
      }
    });
    assert.ok(records[0]!.persons.length >= 5, 'the CCTV frame has several people');

    for (const [name, [w, h]] of [['vtest_frame', sizes[0]!], ['astronaut', sizes[1]!]] as const) {
      const meta = await sharp(join(outDir, `${name}.pose.jpg`)).metadata();
      assert.equal(meta.format, 'jpeg');
      assert.deepEqual([meta.width, meta.height], [w, h]);
    }
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});

test('the frameline-cloud infer command prints JSON lines on stdout and writes the overlays', async () => {
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { readdir } = await import('node:fs/promises');
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'frameline-cloud.js');
  const outDir = await mkdtemp(join(tmpdir(), 'fl-infer-cli-'));
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, 'infer', '--out', outDir, join(fixtures, 'vtest_frame.jpg'), join(fixtures, 'astronaut.png')], { maxBuffer: 1 << 24 });
    const records = stdout.trim().split('\n').map((l) => JSON.parse(l) as InferenceRecord);
    assert.equal(records.length, 2, stderr);
    assert.ok(records[0]!.persons.length >= 5, `${records[0]!.persons.length} people in the CCTV frame`);
    assert.equal(records[1]!.persons.length, 1);
    for (const r of records) for (const p of r.persons) assert.equal(p.keypoints.length, 33);
    assert.deepEqual((await readdir(outDir)).sort(), ['astronaut.pose.jpg', 'vtest_frame.pose.jpg']);
  } finally {
    await rm(outDir, { recursive: true, force: true });
  }
});

test('frameline-cloud infer without images prints its usage and exits 64', async () => {
  const { spawnSync } = await import('node:child_process');
  const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'frameline-cloud.js');
  const r = spawnSync(process.execPath, [bin, 'infer'], { encoding: 'utf8' });
  assert.equal(r.status, 64);
  assert.match(r.stdout, /usage: frameline-cloud infer \[--config FILE\] \[--out DIR\] IMAGE\.\.\./);
});
