/// <reference types="node" />
/**
 * One body, one person (issue 10): the keypoint-similarity deduplication after
 * the landmark model, and the detector's merge of the tiles' oversize guesses,
 * on constructed skeletons and detections (pure functions, no model).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { iou, keypointBox } from '../src/inference/box.js';
import { dropDuplicatePersons, keypointSimilarity } from '../src/inference/dedupe.js';
import { addOversize, type Detection } from '../src/inference/detector.js';
import { BLAZEPOSE_KEYPOINTS, type Keypoint, type Person } from '../src/inference/types.js';

const FRAME = { width: 1000, height: 800 };

/** Joint positions of a person standing upright, as (dx, dy) fractions of the height from the head top's centre. */
const STANDING: Record<string, [number, number]> = {
  nose: [0, 0.06], left_eye: [0.02, 0.05], right_eye: [-0.02, 0.05], left_ear: [0.04, 0.06], right_ear: [-0.04, 0.06],
  left_shoulder: [0.11, 0.18], right_shoulder: [-0.11, 0.18], left_elbow: [0.13, 0.32], right_elbow: [-0.13, 0.32],
  left_wrist: [0.13, 0.45], right_wrist: [-0.13, 0.45], left_hip: [0.07, 0.5], right_hip: [-0.07, 0.5],
  left_knee: [0.07, 0.72], right_knee: [-0.07, 0.72], left_ankle: [0.07, 0.95], right_ankle: [-0.07, 0.95],
};

/** The nearest COCO joint stands in for BlazePose's extra points (eye corners, mouth, hands, feet). */
const nearest = (name: string): string =>
  STANDING[name] ? name : name.replace(/_(inner|outer)$/, '').replace(/^mouth_(left|right)$/, 'nose').replace(/_(pinky|index|thumb)$/, '_wrist').replace(/_(heel|foot_index)$/, '_ankle').replace(/^(left|right)_foot$/, '$1_ankle');

/**
 * A 33-joint person whose head top is at (cx, top), `height` px tall; `pose`
 * overrides joints as (dx, dy) height fractions; `hidden` joints get visibility 0.1.
 */
function person(cx: number, top: number, height: number, score: number, pose: Record<string, [number, number]> = {}, hidden: string[] = []): Person {
  const joints = { ...STANDING, ...pose };
  const keypoints = BLAZEPOSE_KEYPOINTS.map((name): Keypoint => {
    const [dx, dy] = joints[nearest(name)] ?? joints.nose!;
    return { name, x: cx + dx * height, y: top + dy * height, visibility: hidden.includes(nearest(name)) ? 0.1 : 0.95 };
  });
  return { box: keypointBox(keypoints, 0.5, FRAME), score, keypoints };
}

/** Arms and legs spread like a footballer mid-kick. */
const WIDE: Record<string, [number, number]> = {
  left_elbow: [0.3, 0.2], left_wrist: [0.5, 0.12], right_elbow: [-0.3, 0.15], right_wrist: [-0.55, 0.05],
  left_knee: [0.3, 0.62], left_ankle: [0.55, 0.7], right_knee: [-0.2, 0.72], right_ankle: [-0.1, 0.95],
};

describe('keypoint similarity deduplication', () => {
  test('a second, smaller skeleton nested on a wide-pose body is dropped, the better-scoring one kept', (t) => {
    const whole = person(500, 100, 500, 1.0, WIDE);
    // what the landmark model gave on a tile's crop of the same body: head and torso
    // within a few px, limbs pulled in towards the crop centre, a box nested in the first
    const pulledIn = Object.fromEntries(Object.entries(WIDE).map(([k, [dx, dy]]) => [k, [dx * 0.75, 0.5 + (dy - 0.5) * 0.8] as [number, number]]));
    const nested = person(503, 104, 500, 0.93, { ...pulledIn, left_hip: [0.06, 0.46], right_hip: [-0.08, 0.47] }, ['left_ankle', 'right_ankle']);
    assert.ok(iou(whole.box, nested.box) < 0.6, `precondition: box IoU ${iou(whole.box, nested.box).toFixed(2)} is below the old 0.6 rule`);
    const similarity = keypointSimilarity(whole, nested, 0.5);
    t.diagnostic(`nested: box IoU ${iou(whole.box, nested.box).toFixed(2)}, OKS ${similarity.toFixed(3)}`);
    assert.ok(similarity >= 0.5, `OKS ${similarity.toFixed(3)}`);
    const kept = dropDuplicatePersons([nested, whole], 0.5, 0.5);
    assert.equal(kept.length, 1);
    assert.equal(kept[0], whole);
  });

  test('the same body found from two tiles (joints a few px apart) is one person; the higher score wins', () => {
    const a = person(300, 200, 200, 0.97);
    const b = person(302, 201, 198, 0.99);
    const kept = dropDuplicatePersons([a, b], 0.5, 0.5);
    assert.deepEqual(kept, [b]);
  });

  test('two people side by side, shoulders touching, stay two', () => {
    const left = person(400, 200, 300, 0.99);
    const right = person(400 + 0.25 * 300, 205, 300, 0.98);
    assert.ok(keypointSimilarity(left, right, 0.5) < 0.2, `OKS ${keypointSimilarity(left, right, 0.5).toFixed(3)}`);
    assert.equal(dropDuplicatePersons([left, right], 0.5, 0.5).length, 2);
  });

  test('two people hugging, boxes overlapping by more than 0.6 IoU, stay two', (t) => {
    const hugLeft = { left_wrist: [0.2, 0.3], left_elbow: [0.16, 0.28] } as Record<string, [number, number]>;
    const hugRight = { right_wrist: [-0.2, 0.3], right_elbow: [-0.16, 0.28] } as Record<string, [number, number]>;
    const a = person(480, 200, 320, 0.99, hugLeft);
    const b = person(480 + 0.16 * 320, 196, 320, 0.97, hugRight);
    assert.ok(iou(a.box, b.box) > 0.6, `precondition: box IoU ${iou(a.box, b.box).toFixed(2)} (the old rule merged these)`);
    const similarity = keypointSimilarity(a, b, 0.5);
    t.diagnostic(`hugging: box IoU ${iou(a.box, b.box).toFixed(2)}, OKS ${similarity.toFixed(3)}`);
    assert.ok(similarity < 0.35, `OKS ${similarity.toFixed(3)}`);
    assert.equal(dropDuplicatePersons([a, b], 0.5, 0.5).length, 2);
  });

  test('a small person far behind, inside a near person\'s box, stays a second person', () => {
    const near = person(500, 100, 600, 1.0);
    const far = person(520, 250, 150, 0.95);
    const [x, y, w, h] = near.box;
    assert.ok(far.box[0] >= x && far.box[1] >= y && far.box[0] + far.box[2] <= x + w && far.box[1] + far.box[3] <= y + h, 'precondition: nested boxes');
    assert.equal(dropDuplicatePersons([near, far], 0.5, 0.5).length, 2);
  });

  test('fewer than 3 joints visible in both: no evidence, both kept', () => {
    const all = Object.keys(STANDING);
    const upper = person(500, 100, 400, 0.99, {}, all.filter((n) => !['nose', 'left_eye'].includes(n)));
    const same = person(500, 100, 400, 0.9);
    assert.equal(keypointSimilarity(upper, same, 0.5), 0);
    assert.equal(dropDuplicatePersons([upper, same], 0.5, 0.5).length, 2);
  });
});

describe('merging the tiles\' oversize guesses', () => {
  const detection = (score: number, k0: [number, number], k1: [number, number], box: [number, number, number, number]): Detection => ({ score, box, keypoints: [k0, k1] });

  test('a guess centred on a detected body is that person again; one elsewhere is added after the detections', () => {
    // the whole-frame pass found the athlete; two tiles saw the same face and guessed its body again
    const athlete = detection(0.95, [266, 226], [230, 52], [189, 70, 110, 110]);
    const sameBodyA = detection(0.78, [245, 194], [242, 62], [212, 92, 51, 51]);
    const sameBodyB = detection(0.71, [237, 228], [235, 72], [209, 103, 51, 51]);
    // a person near the camera, cut by the frame edge, that only a tile saw
    const nearCamera = detection(0.57, [592, 418], [560, 15], [533, 122, 51, 51]);
    const merged = addOversize([athlete], [sameBodyA, sameBodyB, nearCamera], 0.3);
    assert.deepEqual(merged, [athlete, nearCamera]);
  });

  test('without detections proper, the guesses are kept after NMS among themselves', () => {
    const a = detection(0.6, [500, 400], [500, 0], [480, 100, 50, 50]);
    const b = detection(0.55, [502, 398], [501, 2], [482, 101, 50, 50]);
    const merged = addOversize([], [a, b], 0.3);
    assert.equal(merged.length, 1);
    assert.equal(merged[0]!.score, 0.6);
  });
});
