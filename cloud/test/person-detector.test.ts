/// <reference types="node" />
/**
 * The CenterNet person detector (cloud/models/centernet.onnx, built by
 * tools/onnx-convert/scripts/convert-tfjs-models.mjs) on the CCTV fixture frame, against
 * the hand-checked boxes of fixtures/pose-reference.json; and, fed to the
 * BlazePose landmark model, the whole top-down pipeline. Skipped when the
 * ONNX models are not built.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@frameline/shared';
import { iou, type Box } from '../src/inference/box.js';
import { decodeJpeg } from '../src/inference/decode.js';
import type { Detection } from '../src/inference/detector.js';
import { createLandmarkModel } from '../src/inference/landmarks.js';
import { createObjectDetector, decodePersons, DEFAULT_OBJECT_DETECTOR_OPTIONS, personDetection } from '../src/inference/person-detector.js';
import { roiFromDetection } from '../src/inference/roi.js';
import { createSession, type ModelSession } from '../src/inference/session.js';
import type { DecodedImage } from '../src/inference/types.js';

const cloudDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = join(cloudDir, 'test', 'fixtures');
const models = join(cloudDir, 'models');
const logger = createLogger({ level: 'warn' });

interface RefPerson {
  label: string;
  box: Box;
}
const reference = JSON.parse(readFileSync(join(fixtures, 'pose-reference.json'), 'utf8')) as {
  images: Record<string, { persons: RefPerson[] }>;
};
const refs = reference.images['vtest_frame.jpg']!.persons;

function match(found: { box: Box }[], minIou: number): { matched: string[]; falsePositives: number } {
  const candidates = refs.flatMap((r) => found.map((p) => ({ r, p, v: iou(r.box, p.box) }))).sort((a, b) => b.v - a.v);
  const used = new Set<object>();
  const matched: string[] = [];
  for (const { r, p, v } of candidates) {
    if (v < minIou || used.has(r) || used.has(p)) continue;
    used.add(r).add(p);
    matched.push(r.label);
  }
  return { matched, falsePositives: found.length - matched.length };
}

describe('decodePersons', () => {
  test('keeps person rows above the score, maps input px to frame px, drops overlaps', () => {
    const rows = Float32Array.from([
      [100, 100, 120, 160, 0.6, 0], // person
      [101, 100, 121, 161, 0.5, 0], // duplicate of it
      [10, 10, 50, 50, 0.9, 2], // car
      [300, 300, 310, 330, 0.3, 0], // below minScore
      [430, 10, 520, 530, 0.31, 0], // cut by the right and bottom edges: kept from edgeMinScore
      [0, 200, 40, 300, 0.2, 0], // at the left edge but below edgeMinScore
    ].flat());
    const found = decodePersons(rows, 512, 512, 768, 576, DEFAULT_OBJECT_DETECTOR_OPTIONS);
    assert.equal(found.length, 2);
    assert.deepEqual(found[0]!.box.map((v) => Math.round(v)), [150, 113, 30, 68]);
    assert.deepEqual(found[1]!.box.map((v) => Math.round(v)), [645, 11, 123, 565]);
    const d = personDetection(found[0]!.box, found[0]!.score);
    const roi = roiFromDetection(d);
    assert.ok(Math.abs(roi.rotation) < 1e-9, 'upright');
    assert.ok(Math.abs(roi.side - 1.25 * found[0]!.box[3]) < 1e-6, 'ROI side is 1.25 × box height');
  });
});

describe('CenterNet person detector on vtest_frame.jpg', () => {
  let session: ModelSession;
  let landmarkSession: ModelSession;
  let frame: DecodedImage;
  before(async () => {
    session = await createSession({ modelPath: join(models, 'centernet.onnx') }, logger);
    landmarkSession = await createSession({ modelPath: join(models, 'pose_landmark_full.onnx') }, logger);
    frame = await decodeJpeg(readFileSync(join(fixtures, 'vtest_frame.jpg')));
  });
  after(async () => {
    await session?.close();
    await landmarkSession?.close();
  });

  let detections: Detection[] = [];
  test('finds all 7 reference people (IoU ≥ 0.3) with no false positive', async () => {
    const detector = createObjectDetector(session);
    [detections] = (await detector.detect([frame])) as [Detection[]];
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await detector.detect([frame]);
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const { matched, falsePositives } = match(detections, 0.3);
    console.log(`centernet: ${matched.length}/7 found, ${falsePositives} false positives, median ${times[2]!.toFixed(0)} ms/frame`);
    assert.equal(matched.length, 7, `matched: ${matched.join('; ')}`);
    assert.equal(falsePositives, 0);
  });

  test('its boxes give landmark crops in which BlazePose finds each person', async () => {
    const landmarks = createLandmarkModel(landmarkSession);
    const results = await landmarks.estimate(detections.map((d) => ({ image: frame, roi: roiFromDetection(d) })));
    const present = results.filter((r) => r.presence >= 0.5);
    console.log(`landmarks: presence ${results.map((r) => r.presence.toFixed(2)).join(' ')}`);
    assert.ok(present.length >= 6, `only ${present.length} of ${results.length} crops have pose presence ≥ 0.5`);
  });
});
