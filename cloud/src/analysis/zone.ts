/**
 * `zone`: a person's feet inside a camera's polygon for longer than the
 * zone's dwell time. Polygons are in frame fractions (0..1), so they survive
 * a change of the camera's resolution. The entry frame is remembered per
 * track (not looked up in the track's window), so a long stay, or a pause in
 * inference, keeps its start.
 */
import { feet, insidePolygon } from './body.js';
import { seenNow, type Detection, type Detector } from './detector.js';

export interface ZoneOptions {
  camera: string;
  name: string;
  /** [x, y] corners as fractions of the frame width and height. */
  polygon: [number, number][];
  dwellMs: number;
}

/** One detector for all zones; only zones of the frame's camera apply. */
export function createZoneDetector(zones: ZoneOptions[]): Detector {
  // "camera/run/track/zone" -> the first frame of the current stay
  const entries = new Map<string, { seq: number; at: number }>();
  return {
    kind: 'zone',
    update(tracks, frame) {
      const out: Detection[] = [];
      const prefix = `${frame.camera}\u0000`;
      const live = new Set<string>();
      for (const zone of zones.filter((z) => z.camera === frame.camera)) {
        for (const t of tracks) live.add(`${prefix}${frame.run}\u0000${t.id}\u0000${zone.name}`);
        for (const t of seenNow(tracks, frame)) {
          const id = `${prefix}${frame.run}\u0000${t.id}\u0000${zone.name}`;
          const f = feet(t.samples[t.samples.length - 1]!);
          if (!insidePolygon({ x: f.x / frame.width, y: f.y / frame.height }, zone.polygon)) {
            entries.delete(id);
            continue;
          }
          let entry = entries.get(id);
          if (!entry) entries.set(id, (entry = { seq: frame.seq, at: frame.capturedAt }));
          if (frame.capturedAt - entry.at >= zone.dwellMs) {
            out.push({ kind: 'zone', label: zone.name, tracks: [t.id], score: 1, startSeq: entry.seq, startedAt: entry.at });
          }
        }
      }
      // tracks that ended, and other runs of this camera
      for (const id of entries.keys()) if (id.startsWith(prefix) && !live.has(id)) entries.delete(id);
      return out;
    },
  };
}
