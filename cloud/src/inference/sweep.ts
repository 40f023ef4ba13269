/**
 * Where the person detector looks between its full passes (pose tracking,
 * see tracking.ts), inside the inference worker. Like Frigate's motion
 * regions: the tiles with motion that no tracked person explains (someone
 * walking in, or a person the last pass missed) take turns, two per frame;
 * where nothing moved, nothing. Before a camera has a previous frame in this worker the
 * border tiles take turns. Plus a square around each lost person's
 * predicted position.
 */
import { tileRegions, type Detection, type Detector, type DetectorOptions, type DetectorPart, type Region } from './detector.js';
import type { DecodedImage, Roi, TrackingHint } from './types.js';

/** Motion grid cell side, frame px. */
const CELL = 8;
/** Luma change (0..255) that makes a cell count as moved: above JPEG noise. */
const MIN_CHANGE = 16;
/** Moved cells inside one tile, outside tracked persons, that are worth a detector run there. */
const MIN_MOVED_CELLS = 10;
/**
 * The part of a tracked ROI (half extents, fractions of its side, in its own
 * upright frame) whose motion that person explains: the body (about 1/1.25 of
 * the side tall, a third wide) and its shift since the previous frame, so a
 * person walking close beside a tracked one still counts.
 */
const TRACKED_HALF_WIDTH = 0.35;
const TRACKED_HALF_HEIGHT = 0.55;
/** Tiles with untracked motion the detector looks at per sweep (two: a walker entering while another passes is not missed). */
const SWEEP_TILES = 2;
/** Cameras whose previous grid a worker keeps; the oldest is forgotten first. */
const MAX_CAMERAS = 512;

/** Mean luma of 2×2 pixels at each CELL's centre: a cheap thumbnail for frame differencing. */
export interface LumaGrid {
  cols: number;
  rows: number;
  luma: Uint8Array;
}

export function lumaGrid(image: DecodedImage): LumaGrid {
  const cols = Math.floor(image.width / CELL);
  const rows = Math.floor(image.height / CELL);
  const luma = new Uint8Array(cols * rows);
  const { rgb, width } = image;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let d = 0; d < 4; d++) {
        const i = ((r * CELL + CELL / 2 - 1 + (d >> 1)) * width + c * CELL + CELL / 2 - 1 + (d & 1)) * 3;
        sum += 0.299 * rgb[i]! + 0.587 * rgb[i + 1]! + 0.114 * rgb[i + 2]!;
      }
      luma[r * cols + c] = sum / 4;
    }
  }
  return { cols, rows, luma };
}

function explains(t: Roi, x: number, y: number): boolean {
  const dx = x - t.cx;
  const dy = y - t.cy;
  const cos = Math.cos(t.rotation);
  const sin = Math.sin(t.rotation);
  return Math.abs(dx * cos + dy * sin) < TRACKED_HALF_WIDTH * t.side && Math.abs(-dx * sin + dy * cos) < TRACKED_HALF_HEIGHT * t.side;
}

/** Unexplained motion inside one region: moved cells and their mean position (frame px). */
export interface RegionMotion {
  cells: number;
  x: number;
  y: number;
}

/** Per region: cells whose luma changed by MIN_CHANGE between the grids, outside every tracked person. */
export function unexplainedMotion(prev: LumaGrid, now: LumaGrid, regions: Region[], tracked: Roi[]): RegionMotion[] {
  const sums = regions.map(() => ({ cells: 0, x: 0, y: 0 }));
  if (prev.cols === now.cols && prev.rows === now.rows) {
    for (let r = 0; r < now.rows; r++) {
      const y = r * CELL + CELL / 2;
      for (let c = 0; c < now.cols; c++) {
        const k = r * now.cols + c;
        if (Math.abs(now.luma[k]! - prev.luma[k]!) < MIN_CHANGE) continue;
        const x = c * CELL + CELL / 2;
        if (tracked.some((t) => explains(t, x, y))) continue;
        regions.forEach((q, i) => {
          if (x < q.x || x >= q.x + q.side || y < q.y || y >= q.y + q.side) return;
          sums[i]!.cells++;
          sums[i]!.x += x;
          sums[i]!.y += y;
        });
      }
    }
  }
  return sums.map((m) => (m.cells > 0 ? { cells: m.cells, x: m.x / m.cells, y: m.y / m.cells } : m));
}

/** A square of `side` centred on (x, y), moved inside the frame where it fits. */
function squareAround(x: number, y: number, side: number, width: number, height: number): Region {
  const place = (centre: number, length: number): number => (side >= length ? (length - side) / 2 : Math.min(Math.max(centre - side / 2, 0), length - side));
  return { x: place(x, width), y: place(y, height), side, maxBodyDiameter: side };
}

/** A square twice the ROI's side (at least a tile) around a lost person's predicted ROI, inside the frame where it fits. */
export function searchRegion(roi: Roi, width: number, height: number, tileSize: number): Region {
  return { ...squareAround(roi.cx, roi.cy, Math.max(tileSize, 2 * roi.side), width, height), maxBodyDiameter: Infinity };
}

/** The tiles that touch the frame border, where people enter. */
export function borderTiles(tiles: Region[], width: number, height: number): Region[] {
  return tiles.filter((t) => t.x <= 0 || t.y <= 0 || t.x + t.side >= width || t.y + t.side >= height);
}

export interface SweepPlanner {
  /** What of `image` the detector looks at, for its tracking hint; keeps the camera's motion grid. */
  part(image: DecodedImage, hint: TrackingHint | undefined): DetectorPart;
}

/** `tiled`: the detector runs on tiles (detector.ts); otherwise a sweep or search that asks for anything runs the whole frame. */
export function createSweepPlanner(options: DetectorOptions, tiled: boolean): SweepPlanner {
  const grids = new Map<string, LumaGrid>();

  function motion(image: DecodedImage, camera: string | undefined, regions: Region[], tracked: Roi[]): RegionMotion[] | undefined {
    if (camera === undefined) return undefined;
    const now = lumaGrid(image);
    const prev = grids.get(camera);
    grids.delete(camera);
    grids.set(camera, now);
    if (grids.size > MAX_CAMERAS) grids.delete(grids.keys().next().value!);
    return prev && unexplainedMotion(prev, now, regions, tracked);
  }

  return {
    part(image, hint) {
      // a detector without tiles only needs to know whether anything untracked moved at all
      const tiles = tiled ? tileRegions(image, options) : [{ x: 0, y: 0, side: Math.max(image.width, image.height), maxBodyDiameter: Infinity }];
      const moved = motion(image, hint?.camera, tiles, hint?.rois ?? []);
      if (!hint || hint.detect) return { all: true };
      const search = hint.search ?? [];
      if (!tiled) return search.length > 0 || moved?.some((m) => m.cells >= MIN_MOVED_CELLS) ? { all: true } : {};
      const regions = search.map((roi) => searchRegion(roi, image.width, image.height, options.tileSize));
      if (hint.sweep !== undefined) {
        if (moved) {
          // the tiles with motion take turns, most motion first, SWEEP_TILES a frame, so two movers are both looked at
          const moving = moved.flatMap((m, i) => (m.cells >= MIN_MOVED_CELLS ? [i] : [])).sort((a, b) => moved[b]!.cells - moved[a]!.cells);
          for (let k = 0; k < Math.min(SWEEP_TILES, moving.length); k++) regions.push(tiles[moving[(hint.sweep + k) % moving.length]!]!);
        } else {
          const border = borderTiles(tiles, image.width, image.height);
          if (border.length > 0) regions.push(border[hint.sweep % border.length]!);
        }
      }
      return { regions };
    },
  };
}

/** Detections per image in `parts[i]`; a detector without regions runs whole frames where a part asks for anything. */
export async function detectParts(detector: Detector, images: DecodedImage[], parts: DetectorPart[]): Promise<Detection[][]> {
  if (detector.detectIn) return detector.detectIn(images, parts);
  const whole = parts.map((p) => p.all === true);
  const found = await detector.detect(images.filter((_, i) => whole[i]));
  let k = 0;
  return images.map((_, i) => (whole[i] ? found[k++]! : []));
}
