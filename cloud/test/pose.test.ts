/// <reference types="node" />
/**
 * Multi-person BlazePose inference on real images with real onnxruntime
 * sessions, checked against hand-checked reference boxes and keypoints
 * (fixtures/pose-reference.json; see its note for how they were read).
 * Needs the converted models: node tools/onnx-convert/scripts/convert-models.mjs.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';
import { generateAnchors, POSE_DETECTOR_ANCHORS } from '../src/inference/anchors.js';
import { iou, type Box } from '../src/inference/box.js';
import { planTiles } from '../src/inference/detector.js';
import { createPoseModel, decodeJpeg, type DecodedImage, type Person, type PoseModel } from '../src/inference/index.js';

const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures');
const logger = createLogger({ level: 'warn' });

interface RefPerson {
  label: string;
  box: Box;
  keypoints?: Record<string, [number, number]>;
}
const reference = JSON.parse(readFileSync(join(fixtures, 'pose-reference.json'), 'utf8')) as {
  images: Record<string, { size: [number, number]; persons: RefPerson[] }>;
};

const load = (name: string): Promise<DecodedImage> => decodeJpeg(readFileSync(join(fixtures, name)));

/** Keypoint error allowed: 8 % of the reference person's larger box side. */
function assertKeypointsNear(person: Person, ref: RefPerson): void {
  const tolerance = 0.08 * Math.max(ref.box[2], ref.box[3]);
  for (const [name, [x, y]] of Object.entries(ref.keypoints ?? {})) {
    const k = person.keypoints.find((p) => p.name === name);
    assert.ok(k, `keypoint ${name} missing`);
    const error = Math.hypot(k.x - x, k.y - y);
    assert.ok(error <= tolerance, `${ref.label}: ${name} at (${k.x.toFixed(1)}, ${k.y.toFixed(1)}), reference (${x}, ${y}): ${error.toFixed(1)} px > ${tolerance.toFixed(1)} px`);
    assert.ok(k.visibility >= 0.5, `${ref.label}: ${name} visibility ${k.visibility}`);
  }
}

/** Greedy one-to-one matching of found persons to reference boxes by IoU. */
function match(found: Person[], refs: RefPerson[], minIou: number): { pairs: [RefPerson, Person][]; falsePositives: Person[] } {
  const free = new Set(found);
  const pairs: [RefPerson, Person][] = [];
  const candidates = refs.flatMap((r) => found.map((p) => ({ r, p, v: iou(r.box, p.box) }))).sort((a, b) => b.v - a.v);
  const matched = new Set<RefPerson>();
  for (const { r, p, v } of candidates) {
    if (v < minIou || matched.has(r) || !free.has(p)) continue;
    matched.add(r);
    free.delete(p);
    pairs.push([r, p]);
  }
  return { pairs, falsePositives: [...free] };
}

describe('SSD anchors and tiling', () => {
  test('the detector config yields 2254 anchors in MediaPipe order', () => {
    const a = generateAnchors(POSE_DETECTOR_ANCHORS);
    assert.equal(a.length / 2, 2254);
    // first stride-8 cell holds 2 anchors at (0.5/28, 0.5/28); the first stride-32 cell starts at 1568 + 392
    assert.deepEqual([a[0], a[1], a[2], a[3]], [0.5 / 28, 0.5 / 28, 0.5 / 28, 0.5 / 28].map(Math.fround));
    assert.equal(a[2 * 1568], Math.fround(0.5 / 14));
    assert.equal(a[2 * 1960], Math.fround(0.5 / 7));
    assert.equal(a[2 * 1965], Math.fround(0.5 / 7), 'six anchors share each stride-32 cell');
    assert.equal(a[2 * 1966], Math.fround(1.5 / 7));
  });

  test('a 768x576 frame is cut into 3x4 overlapping 256 px tiles that end at the frame edges', () => {
    const tiles = planTiles(768, 576, 256, 0.25);
    assert.equal(tiles.length, 12);
    assert.deepEqual([...new Set(tiles.map((t) => t.x))], [0, 171, 341, 512]);
    assert.deepEqual([...new Set(tiles.map((t) => t.y))], [0, 160, 320]);
    assert.ok(tiles.every((t) => t.side === 256));
  });
});

describe('BlazePose pose model on real images', () => {
  const models: Record<string, PoseModel> = {};
  let astronaut: DecodedImage;
  let vtest: DecodedImage;

  before(async () => {
    models.full = await createPoseModel({ variant: 'full' }, logger);
    models.lite = await createPoseModel({ variant: 'lite' }, logger);
    models.objects = await createPoseModel({ variant: 'full', detector: { mode: 'objects' } }, logger);
    astronaut = await load('astronaut.png');
    vtest = await load('vtest_frame.jpg');
  });
  after(async () => {
    for (const m of Object.values(models)) await m.close();
  });

  test('astronaut photo: one person, box and face/shoulder keypoints on the hand-checked positions', async () => {
    const ref = reference.images['astronaut.png']!.persons[0]!;
    const [result] = await models.full!.infer([astronaut]);
    assert.equal(result!.persons.length, 1, `persons: ${JSON.stringify(result!.persons.map((p) => p.box))}`);
    const person = result!.persons[0]!;
    assert.equal(person.keypoints.length, 33);
    const overlap = iou(person.box, ref.box);
    assert.ok(overlap >= 0.5, `box ${person.box.map(Math.round).join(',')} IoU ${overlap.toFixed(2)} with reference ${ref.box.join(',')}`);
    assertKeypointsNear(person, ref);
  });

  for (const variant of ['full', 'lite']) {
    test(`vtest CCTV frame (${variant}): at least 5 of the 7 walking people, at most 2 false positives`, async (t) => {
      const refs = reference.images['vtest_frame.jpg']!.persons;
      const [result] = await models[variant]!.infer([vtest]);
      const { pairs, falsePositives } = match(result!.persons, refs, 0.3);
      const missed = refs.filter((r) => !pairs.some(([m]) => m === r)).map((r) => r.label);
      t.diagnostic(`${variant}: found ${pairs.length} of ${refs.length}, false positives ${falsePositives.length}, missed: ${missed.join('; ') || 'none'}`);
      assert.ok(pairs.length >= 5, `found ${pairs.length} of 7; missed ${missed.join('; ')}`);
      assert.ok(falsePositives.length <= 2, `false positives at ${falsePositives.map((p) => p.box.map(Math.round).join(',')).join(' | ')}`);
      for (const [ref, person] of pairs) {
        assert.equal(person.keypoints.length, 33);
        assertKeypointsNear(person, ref);
      }
    });
  }

  test('vtest CCTV frame with the CenterNet person detector: all 7 walking people, keypoints on them, no false positive', async (t) => {
    const refs = reference.images['vtest_frame.jpg']!.persons;
    const [result] = await models.objects!.infer([vtest]);
    const { pairs, falsePositives } = match(result!.persons, refs, 0.3);
    t.diagnostic(`objects: found ${pairs.length} of ${refs.length}, false positives ${falsePositives.length}, detect ${result!.timings.detectMs.toFixed(0)} ms`);
    assert.equal(pairs.length, 7);
    assert.equal(falsePositives.length, 0, `false positives at ${falsePositives.map((p) => p.box.map(Math.round).join(',')).join(' | ')}`);
    for (const [ref, person] of pairs) assertKeypointsNear(person, ref);
  });

  test('two frames in one infer call give the same persons as one call each', async () => {
    const [aloneA] = await models.full!.infer([astronaut]);
    const [aloneB] = await models.full!.infer([vtest]);
    const batched = await models.full!.infer([astronaut, vtest]);
    assert.equal(batched.length, 2);
    for (const [alone, both] of [[aloneA!, batched[0]!], [aloneB!, batched[1]!]] as const) {
      assert.equal(both.persons.length, alone.persons.length);
      alone.persons.forEach((p, i) => {
        const q = both.persons[i]!;
        assert.ok(Math.abs(p.score - q.score) < 1e-3);
        p.keypoints.forEach((k, j) => {
          const m = q.keypoints[j]!;
          assert.ok(Math.abs(k.x - m.x) < 0.05 && Math.abs(k.y - m.y) < 0.05, `${k.name}: (${k.x}, ${k.y}) vs (${m.x}, ${m.y})`);
          assert.ok(Math.abs(k.visibility - m.visibility) < 1e-3);
        });
      });
    }
  });

  test('a missing model file fails with the file name and how to build it', async () => {
    await assert.rejects(createPoseModel({ modelsDir: '/nonexistent/models' }, logger), /\/nonexistent\/models\/pose_detection\.onnx.*convert-models/);
  });
});
