// Keypoint sequences for the analysis tests: the real pose pipeline's output
// over vtest.mp4 (precomputed by cloud/scripts/vtest-keypoints.mjs), and
// sequences generated from a real standing pose taken from it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BLAZEPOSE_KEYPOINTS, type Keypoint, type Person } from '../src/inference/index.js';
import { keypointBox } from '../src/inference/box.js';
import { torsoAngle } from '../src/analysis/body.js';
import type { InferenceRecord } from '../src/publish/record.js';

export const VTEST_POSES = fileURLToPath(new URL('../../test/fixtures/vtest-poses.json', import.meta.url));

interface Fixture {
  width: number;
  height: number;
  frames: { seq: number; capturedAt: number; persons: { box: Person['box']; score: number; keypoints: [number, number, number][] }[] }[];
}

const fixture = JSON.parse(readFileSync(VTEST_POSES, 'utf8')) as Fixture;
export const FRAME = { width: fixture.width, height: fixture.height };
const T0 = 1_764_000_000_000;

export function record(seq: number, capturedAt: number, persons: Person[], camera = 'CAMERA-1', run = 'run-1'): InferenceRecord {
  return {
    schema: 1, camera, run, seq, capturedAt, ingestedAt: capturedAt, inferredAt: capturedAt, frame: { ...FRAME }, model: 'blazepose-full',
    persons: persons.map((p) => ({ ...p, keypoints: p.keypoints.map((k) => ({ ...k })) })), timings: {},
  };
}

const toKeypoints = (kps: [number, number, number][]): Keypoint[] => kps.map(([x, y, visibility], i) => ({ name: BLAZEPOSE_KEYPOINTS[i]!, x, y, visibility }));

/** The real pipeline's records over 16 s of vtest.mp4 at 5 fps (people walking). */
export function vtestRecords(camera = 'CAMERA-1', run = 'run-1'): InferenceRecord[] {
  return fixture.frames.map((f) => record(f.seq, T0 + f.capturedAt, f.persons.map((p) => ({ box: p.box, score: p.score, keypoints: toKeypoints(p.keypoints) })), camera, run));
}

/** A real, fully visible, upright person from the vtest output: the one with the largest box among those standing straight. */
export function realStandingPose(): Person {
  const all = vtestRecords().flatMap((r) => r.persons);
  const upright = all.filter((p) => {
    const a = torsoAngle({ seq: 0, capturedAt: 0, box: p.box, keypoints: p.keypoints });
    return a !== undefined && a < 10 && p.keypoints.filter((k) => k.visibility > 0.8).length >= 25;
  });
  upright.sort((a, b) => b.box[3] - a.box[3]);
  return upright[0]!;
}

export function person(keypoints: Keypoint[]): Person {
  return { box: keypointBox(keypoints, 0.3, FRAME), score: 0.99, keypoints };
}

/** Moves and rotates a pose: by `deg` degrees (positive: clockwise on screen) about `pivot`, then by (dx, dy). */
export function transform(p: Person, deg: number, pivot: { x: number; y: number }, dx = 0, dy = 0): Person {
  const r = (deg * Math.PI) / 180;
  const c = Math.cos(r);
  const s = Math.sin(r);
  return person(p.keypoints.map((k) => {
    const x = k.x - pivot.x;
    const y = k.y - pivot.y;
    return { ...k, x: pivot.x + x * c - y * s + dx, y: pivot.y + x * s + y * c + dy };
  }));
}

export function feetOf(p: Person): { x: number; y: number } {
  const a = p.keypoints.find((k) => k.name === 'left_ankle')!;
  const b = p.keypoints.find((k) => k.name === 'right_ankle')!;
  return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
}

/** Small deterministic jitter (px), as a real pose model gives from frame to frame. */
export function jitter(p: Person, seed: number, px = 0.8): Person {
  return person(p.keypoints.map((k, i) => ({ ...k, x: k.x + Math.sin(seed * 7.1 + i) * px, y: k.y + Math.cos(seed * 3.3 + i * 1.7) * px })));
}

export const at = (seq: number, fps: number): number => T0 + Math.round((seq * 1000) / fps);
