/**
 * BlazePose person detector over one or many frames. Its boxes key on the
 * face and it was trained on people who fill much of the frame, so for
 * security cameras the frame is cut into overlapping tiles that each become
 * one batch item; detections are merged in frame coordinates.
 */
import { generateAnchors, POSE_DETECTOR_ANCHORS } from './anchors.js';
import { iou as boxIou, type Box } from './box.js';
import type { ModelSession } from './session.js';
import type { DecodedImage } from './types.js';
import { squareAffine, warpInto } from './warp.js';

export interface DetectorOptions {
  /**
   * tiled: the BlazePose detector over overlapping tiles, plus the whole frame
   * when `includeWholeFrame` (several small people);
   * whole: the letterboxed frame only (one person filling it);
   * objects: CenterNet COCO person boxes (centernet.onnx), one run per frame.
   */
  mode: 'tiled' | 'whole' | 'objects';
  /** MediaPipe keeps anchors scoring at least 0.5. */
  minScore: number;
  /** IoU above which two detections are the same person (weighted NMS); MediaPipe uses 0.3. */
  nmsIou: number;
  /**
   * Tile side in frame pixels; people 40–150 px tall fit a 256 px tile well.
   * Cost grows with the tile count (768×576 → 12 tiles, 1920×1080 → 40): raise it for large frames.
   */
  tileSize: number;
  /** Fraction of a tile shared with its neighbour, so a person cut by one tile is whole in the next. */
  tileOverlap: number;
  /** In tiled mode also run the letterboxed whole frame, to find people too big for a tile. */
  includeWholeFrame: boolean;
}

export const DEFAULT_DETECTOR_OPTIONS: DetectorOptions = {
  mode: 'tiled',
  minScore: 0.5,
  nmsIou: 0.3,
  tileSize: 256,
  tileOverlap: 0.25,
  includeWholeFrame: true,
};

/** A frame region that becomes one detector input: square, top-left (x, y), side in frame px. */
export interface Square {
  x: number;
  y: number;
  side: number;
}

/**
 * A tile sees only part of the frame: for a person bigger than the tile it
 * sees a face and guesses the body. Such a guess is only a fallback, for big
 * people the whole-frame pass missed (close to the camera, cut by the frame
 * edge: the letterboxed frame shows their face too small and their body cut).
 */
export interface Region extends Square {
  maxBodyDiameter: number;
}

export interface Detection {
  score: number;
  /** face/head box [x, y, w, h] in frame px */
  box: Box;
  /** k0 mid-hip, k1 full-body circle point, k2 mid-shoulder, k3 upper-body circle point; frame px */
  keypoints: [number, number][];
}

/** What of one image the detector looks at: every region (`all`), or only `regions` (tracking, see sweep.ts). */
export interface DetectorPart {
  all?: boolean;
  regions?: Region[];
}

export interface Detector {
  /** Detections per image; all regions of all images go through one session run. */
  detect(images: DecodedImage[]): Promise<Detection[][]>;
  /** Detections per image in `parts[i]` of `images[i]` only; absent when the detector has no regions (one pass per frame). */
  detectIn?(images: DecodedImage[], parts: DetectorPart[]): Promise<Detection[][]>;
}

const INPUT = POSE_DETECTOR_ANCHORS.inputSize;
const NUM_KEYPOINTS = 4;
const VALUES_PER_ANCHOR = 4 + 2 * NUM_KEYPOINTS;
const NORMALISE_MINUS1_1 = { scale: 1 / 127.5, offset: -1 };

/** The letterbox square: the frame centred in a square of its longer side (black bars). */
export function letterboxSquare(width: number, height: number): Square {
  const side = Math.max(width, height);
  return { x: (width - side) / 2, y: (height - side) / 2, side };
}

/**
 * Overlapping square tiles covering the frame: as few as keep the overlap at
 * least `overlap`, spread evenly so that the last tile ends at the frame edge.
 */
export function planTiles(width: number, height: number, tileSize: number, overlap: number): Square[] {
  const side = Math.min(tileSize, width, height);
  const stride = side * (1 - overlap);
  const starts = (length: number): number[] => {
    const n = length <= side ? 1 : Math.ceil((length - side) / stride) + 1;
    return Array.from({ length: n }, (_, i) => (n === 1 ? (length - side) / 2 : Math.round((i * (length - side)) / (n - 1))));
  };
  const tiles: Square[] = [];
  for (const y of starts(height)) for (const x of starts(width)) tiles.push({ x, y, side });
  return tiles;
}

function regionsFor(image: Pick<DecodedImage, 'width' | 'height'>, options: DetectorOptions): Region[] {
  const whole = { ...letterboxSquare(image.width, image.height), maxBodyDiameter: Infinity };
  if (options.mode === 'whole') return [whole];
  const tiles = planTiles(image.width, image.height, options.tileSize, options.tileOverlap);
  // a single tile already is (nearly) the whole frame
  if (tiles.length === 1) return [whole];
  const tileRegions = tiles.map((t) => ({ ...t, maxBodyDiameter: t.side }));
  return options.includeWholeFrame ? [...tileRegions, whole] : tileRegions;
}

/** The tiled pass's regions without the whole frame: the squares a sweep between full passes picks from (see sweep.ts). */
export function tileRegions(image: Pick<DecodedImage, 'width' | 'height'>, options: DetectorOptions): Region[] {
  return regionsFor(image, { ...options, mode: 'tiled', includeWholeFrame: false });
}

function partRegions(image: DecodedImage, part: DetectorPart, options: DetectorOptions): Region[] {
  return part.all ? regionsFor(image, options) : part.regions ?? [];
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-Math.min(Math.max(x, -100), 100)));

/** Body circle diameter in frame px: twice the distance from mid-hip k0 to the circle point k1. */
const bodyDiameter = (d: Detection): number => 2 * Math.hypot(d.keypoints[1]![0] - d.keypoints[0]![0], d.keypoints[1]![1] - d.keypoints[0]![1]);

/**
 * Decodes one batch item's anchors into frame-coordinate detections above
 * `minScore`; with `maxBodyDiameter`, only those whose body circle (centre k0,
 * through k1) is at most that across (`oversize`: only the others).
 */
export function decodeDetections(
  raw: Float32Array,
  logits: Float32Array,
  item: number,
  anchors: Float32Array,
  region: Square,
  minScore: number,
  maxBodyDiameter = Infinity,
  oversize = false,
): Detection[] {
  const count = anchors.length / 2;
  const found: Detection[] = [];
  for (let a = 0; a < count; a++) {
    const score = sigmoid(logits[item * count + a]!);
    if (score < minScore) continue;
    const r = (item * count + a) * VALUES_PER_ANCHOR;
    const ax = anchors[2 * a]!;
    const ay = anchors[2 * a + 1]!;
    // normalised in the detector input → frame px through the region
    const fx = (n: number): number => region.x + n * region.side;
    const fy = (n: number): number => region.y + n * region.side;
    const cx = raw[r]! / INPUT + ax;
    const cy = raw[r + 1]! / INPUT + ay;
    const w = (raw[r + 2]! / INPUT) * region.side;
    const h = (raw[r + 3]! / INPUT) * region.side;
    const keypoints: [number, number][] = [];
    for (let k = 0; k < NUM_KEYPOINTS; k++) {
      keypoints.push([fx(raw[r + 4 + 2 * k]! / INPUT + ax), fy(raw[r + 5 + 2 * k]! / INPUT + ay)]);
    }
    const detection: Detection = { score, box: [fx(cx) - w / 2, fy(cy) - h / 2, w, h], keypoints };
    if (bodyDiameter(detection) > maxBodyDiameter !== oversize) continue;
    found.push(detection);
  }
  return found;
}

/**
 * MediaPipe's weighted NMS: the best detection absorbs every other one that
 * overlaps it by more than `iou`; its box and keypoints become the score-
 * weighted mean of the group, its score stays the best one's.
 */
export function weightedNms(detections: Detection[], iou: number): Detection[] {
  const remaining = [...detections].sort((p, q) => q.score - p.score);
  const kept: Detection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0]!;
    const group = remaining.filter((d) => boxIou(best.box, d.box) > iou);
    const rest = remaining.filter((d) => boxIou(best.box, d.box) <= iou);
    const total = group.reduce((s, d) => s + d.score, 0);
    const mean = (pick: (d: Detection) => number): number => group.reduce((s, d) => s + pick(d) * d.score, 0) / total;
    kept.push({
      score: best.score,
      box: [0, 1, 2, 3].map((i) => mean((d) => d.box[i]!)) as Box,
      keypoints: best.keypoints.map((_, k) => [mean((d) => d.keypoints[k]![0]), mean((d) => d.keypoints[k]![1])]),
    });
    remaining.splice(0, remaining.length, ...rest);
  }
  return kept;
}

/**
 * Adds the tiles' oversize guesses after the detections proper (so they come
 * last under maxPersons): each one whose mid-hip lies in the central half of a
 * detection's body circle is that person again and is dropped. Detectors'
 * face boxes differ in size across scales, so box IoU cannot match them.
 */
export function addOversize(detections: Detection[], oversize: Detection[], iou: number): Detection[] {
  const fresh = weightedNms(oversize, iou).filter((o) =>
    detections.every((d) => Math.hypot(o.keypoints[0]![0] - d.keypoints[0]![0], o.keypoints[0]![1] - d.keypoints[0]![1]) >= bodyDiameter(d) / 4),
  );
  return [...detections, ...fresh];
}

export function createDetector(session: ModelSession, options: DetectorOptions): Detector {
  const anchors = generateAnchors(POSE_DETECTOR_ANCHORS);
  const itemSize = INPUT * INPUT * 3;

  async function detectRegions(images: DecodedImage[], regions: Region[][]): Promise<Detection[][]> {
    const total = regions.reduce((n, r) => n + r.length, 0);
    if (total === 0) return regions.map(() => []);
    const input = new Float32Array(total * itemSize);
    let item = 0;
    images.forEach((image, i) => {
      for (const region of regions[i]!) {
        const target = { data: input, offset: item++ * itemSize, width: INPUT, height: INPUT, layout: 'NHWC' as const };
        warpInto(image, squareAffine(region.x, region.y, region.side, INPUT), target, NORMALISE_MINUS1_1, 'zero');
      }
    });

    const out = await session.run(input, total);
    const raw = out['Identity'];
    const logits = out['Identity_1'];
    if (!raw || !logits) throw new Error('detector model: outputs Identity/Identity_1 missing; is this pose_detection.onnx?');

    item = 0;
    return regions.map((imageRegions) => {
      const decode = (region: Region, at: number, oversize: boolean): Detection[] =>
        decodeDetections(raw, logits, at, anchors, region, options.minScore, region.maxBodyDiameter, oversize);
      const first = item;
      item += imageRegions.length;
      const found = imageRegions.flatMap((region, r) => decode(region, first + r, false));
      const oversize = imageRegions.flatMap((region, r) => (region.maxBodyDiameter < Infinity ? decode(region, first + r, true) : []));
      return addOversize(weightedNms(found, options.nmsIou), oversize, options.nmsIou);
    });
  }

  return {
    detect: (images) => detectRegions(images, images.map((image) => regionsFor(image, options))),
    detectIn: (images, parts) => detectRegions(images, images.map((image, i) => partRegions(image, parts[i] ?? {}, options))),
  };
}
