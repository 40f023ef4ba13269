// Camera clocks that disagree with ours. Frame age is "now minus the capture
// time the Pi stamped", so a Pi whose clock is 10 s behind would have every
// frame skipped as too old, silently. A record read at the end of its
// partition was produced a moment ago: for such fresh records, ingest time
// minus capture time is the network delay plus the clock offset. The
// smallest of the recent ones is our estimate; beyond a threshold that no
// network explains, it is a clock problem: ages are corrected by it and the
// operator is told to fix NTP on that Pi.
import type { Logger } from '@frameline/shared';

export interface CameraClocks {
  /** One observation: a record of `camera`, `freshness` records from its partition's end. */
  observe(camera: string, ingestedAt: number, capturedAt: number, fresh: boolean): void;
  /** Milliseconds to add to this camera's capture times (0 while its clock looks right). */
  correction(camera: string): number;
  corrections(): Map<string, number>;
}

export interface ClockOptions {
  /** Offsets within this are network delay, not a clock problem. Default 2000 ms. */
  thresholdMs?: number;
  /** Fresh observations kept per camera. Default 50. */
  window?: number;
  /** Cameras tracked at most (ids come from the records). Default 1000. */
  maxCameras?: number;
}

interface Track {
  samples: number[];
  next: number;
  correction: number;
}

export function createCameraClocks(logger: Logger, options: ClockOptions = {}): CameraClocks {
  const log = logger.child('clock');
  const threshold = options.thresholdMs ?? 2000;
  const size = options.window ?? 50;
  const maxCameras = options.maxCameras ?? 1000;
  const tracks = new Map<string, Track>();

  function trackOf(camera: string): Track {
    let t = tracks.get(camera);
    if (!t) {
      if (tracks.size >= maxCameras) tracks.delete(tracks.keys().next().value!);
      t = { samples: [], next: 0, correction: 0 };
      tracks.set(camera, t);
    }
    return t;
  }

  return {
    observe(camera, ingestedAt, capturedAt, fresh) {
      if (!fresh) return;
      const t = trackOf(camera);
      const delta = ingestedAt - capturedAt;
      if (t.samples.length < size) t.samples.push(delta);
      else t.samples[t.next] = delta;
      t.next = (t.next + 1) % size;
      if (t.samples.length < Math.min(5, size)) return;
      const estimate = Math.min(...t.samples);
      const correction = Math.abs(estimate) > threshold ? estimate : 0;
      if (Math.abs(correction - t.correction) > threshold / 2) {
        if (correction === 0) log.info('camera clock agrees with ours again', { camera });
        else {
          log.warn(`camera clock is ${(Math.abs(correction) / 1000).toFixed(1)} s ${correction > 0 ? 'behind' : 'ahead of'} ours: frame ages are corrected; fix NTP on the Pi (timedatectl)`, { camera, offsetMs: Math.round(correction) });
        }
        t.correction = correction;
      }
    },
    correction: (camera) => tracks.get(camera)?.correction ?? 0,
    corrections: () => new Map([...tracks].map(([c, t]) => [c, t.correction])),
  };
}
