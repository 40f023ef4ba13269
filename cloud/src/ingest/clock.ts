// Camera clocks that disagree with ours. Frame age is "now minus the capture
// time the Pi stamped", so a Pi whose clock is 10 s behind would have every
// frame skipped as too old, silently. A record read at the end of its
// partition was produced a moment ago: for such fresh records, ingest time
// minus capture time is the network delay plus the clock offset. The
// smallest of the recent ones is our estimate; beyond a threshold that no
// network explains, it is a clock problem: ages are corrected by it and the
// operator is told to fix NTP on that Pi.
// A clock stepped back (an NTP step on the Pi) shows as capture times going
// backwards within a run: the offset is moved by the step at once and
// estimated again from the frames after it, instead of ages that stay absurd
// until the old samples age out.
import type { Logger } from '@frameline/shared';

/** One live frame as ingest saw it; times are epoch ms. */
export interface ClockSample {
  camera: string;
  run: string;
  seq: number;
  ingestedAt: number;
  capturedAt: number;
  /** Read near its partition's end right after a fetch that reached it: produced a moment ago. */
  fresh: boolean;
}

export interface CameraClocks {
  observe(sample: ClockSample): void;
  /** Milliseconds to add to this camera's capture times (0 while its clock looks right). */
  correction(camera: string): number;
  corrections(): Map<string, number>;
  /** Per camera, capture-time steps backwards seen so far. */
  steps(): Map<string, number>;
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
  /** The newest frame seen: a frame of the same run with a higher seq but an earlier capture time is a clock step. */
  last?: { run: string; seq: number; capturedAt: number };
  steps: number;
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
      t = { samples: [], next: 0, correction: 0, steps: 0 };
      tracks.set(camera, t);
    }
    return t;
  }

  /** Offsets within the threshold are no clock problem. */
  const significant = (ms: number) => (Math.abs(ms) > threshold ? ms : 0);

  function noteStep(t: Track, s: ClockSample, previous: { seq: number; capturedAt: number }): void {
    const stepMs = previous.capturedAt - s.capturedAt;
    t.steps++;
    // The two frames were taken about when each other was: move the offset by the whole step now, refine it from later fresh frames.
    t.correction = significant(t.correction + stepMs);
    t.samples = [];
    t.next = 0;
    log.warn(`camera clock stepped back ${(stepMs / 1000).toFixed(1)} s between fl-seq ${previous.seq} and ${s.seq} (an NTP step on the Pi?): order follows fl-seq, frame ages are estimated again from the frames after the step`, {
      camera: s.camera, run: s.run, stepMs: Math.round(stepMs), offsetMs: Math.round(t.correction),
    });
  }

  return {
    observe(s) {
      const t = trackOf(s.camera);
      const last = t.last;
      if (last && last.run === s.run && s.seq <= last.seq) return; // a resend or a replay: it says nothing new
      t.last = { run: s.run, seq: s.seq, capturedAt: s.capturedAt };
      if (last && last.run === s.run && s.capturedAt < last.capturedAt) noteStep(t, s, last);
      if (!s.fresh) return;
      const { ingestedAt, capturedAt, camera } = s;
      const delta = ingestedAt - capturedAt;
      if (t.samples.length < size) t.samples.push(delta);
      else t.samples[t.next] = delta;
      t.next = (t.next + 1) % size;
      if (t.samples.length < Math.min(5, size)) return;
      const estimate = Math.min(...t.samples);
      const correction = significant(estimate);
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
    steps: () => new Map([...tracks].filter(([, t]) => t.steps > 0).map(([c, t]) => [c, t.steps])),
  };
}
