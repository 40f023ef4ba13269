/**
 * An ONNX temporal model behind the detector interface (a violence or fall
 * classifier trained by the user). The contract, documented in ALERTS.md:
 *
 * - one float32 input shaped [T, P, 33, 3]: T consecutive inferred frames of
 *   one track (oldest first), P persons per frame; person 0 is the track
 *   itself, persons 1..P-1 the tracks nearest to it in the newest frame,
 *   matched by frame; the 33 BlazePose landmarks in MediaPipe's order (models
 *   with fewer keypoints fill theirs by name); per landmark x, y in frame
 *   pixels and its visibility 0..1. Absent persons and landmarks are zeros.
 * - the first output's first element is the score 0..1 of the model's event.
 *
 * The model runs for a track once it has T samples, on frames whose seq is a multiple of `every`.
 */
import * as ort from 'onnxruntime-node';
import { BLAZEPOSE_KEYPOINTS } from '../inference/index.js';
import { distance, hipCentre, type TrackSample } from './body.js';
import { seenNow, type Detection, type Detector } from './detector.js';
import type { Track } from './tracker.js';

export interface TemporalModelOptions {
  path: string;
  /** The event kind its alerts carry, e.g. `violence`. */
  kind: string;
  /** T: frames per window. */
  frames: number;
  /** P: persons per window. */
  persons: number;
  /** Scores at or above this are a detection. */
  threshold: number;
  /** Run once every this many frames of a track (1: every frame). */
  every: number;
}

const K = BLAZEPOSE_KEYPOINTS.length;
const SLOT = new Map(BLAZEPOSE_KEYPOINTS.map((n, i) => [n, i]));

/** The [T, P, 33, 3] window of `track`'s newest T samples and its P-1 nearest neighbours. */
export function trackWindow(track: Track, others: Track[], frames: number, persons: number): Float32Array {
  const samples = track.samples.slice(-frames);
  const newest = samples[samples.length - 1]!;
  const here = hipCentre(newest);
  const near = others
    .filter((o) => o !== track)
    .map((o) => ({ o, h: hipCentre(o.samples[o.samples.length - 1]!) }))
    .map(({ o, h }) => ({ o, d: here && h ? distance(here, h) : Infinity }))
    .sort((a, b) => a.d - b.d)
    .slice(0, persons - 1)
    .map(({ o }) => new Map(o.samples.map((s) => [s.seq, s])));
  const data = new Float32Array(frames * persons * K * 3);
  const put = (t: number, p: number, s: TrackSample | undefined) => {
    if (!s) return;
    for (const k of s.keypoints) {
      const slot = SLOT.get(k.name);
      if (slot === undefined) continue;
      const at = ((t * persons + p) * K + slot) * 3;
      data[at] = k.x;
      data[at + 1] = k.y;
      data[at + 2] = k.visibility;
    }
  };
  samples.forEach((s, t) => {
    put(t, 0, s);
    near.forEach((bySeq, i) => put(t, i + 1, bySeq.get(s.seq)));
  });
  return data;
}

export async function createTemporalModelDetector(o: TemporalModelOptions): Promise<Detector> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(o.path, { executionProviders: ['cpu'] });
  } catch (err) {
    throw new Error(`analysis.temporalModel.path: cannot load ONNX model ${o.path}: ${(err as Error).message}`);
  }
  const input = session.inputNames[0]!;
  const output = session.outputNames[0]!;
  return {
    kind: o.kind,
    async update(tracks, frame) {
      const out: Detection[] = [];
      for (const t of seenNow(tracks, frame)) {
        if (t.samples.length < o.frames) continue;
        // by seq, not by a counter of our own: frames replayed after a restart pick the same windows
        if (frame.seq % o.every !== 0) continue;
        const tensor = new ort.Tensor('float32', trackWindow(t, tracks, o.frames, o.persons), [o.frames, o.persons, K, 3]);
        const result = await session.run({ [input]: tensor });
        const score = Number((result[output]!.data as Float32Array)[0]);
        if (score < o.threshold) continue;
        const first = t.samples[t.samples.length - o.frames]!;
        out.push({ kind: o.kind, label: '', tracks: [t.id], score: Math.min(1, Math.max(0, score)), startSeq: first.seq, startedAt: first.capturedAt });
      }
      return out;
    },
    close: () => session.release(),
  };
}
