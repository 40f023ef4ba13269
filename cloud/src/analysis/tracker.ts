/**
 * Per-camera person tracker: matches the persons of each inferred frame to
 * the camera's tracks by box overlap (IoU, with the box moved by the track's
 * velocity), keypoint similarity (OKS) and centre distance, greedily from
 * the best pair down.
 *
 * Greedy rather than Hungarian: a frame holds a handful of persons, pairs
 * below the gate are never matched, and with that gate the two differ only
 * when two people cross, where neither can tell who is who from one frame.
 * Greedy is deterministic for a given input order, which the alert keys need:
 * the same frames replayed after a restart give the same track ids.
 */
import type { Person } from '../inference/index.js';
import type { Box } from '../inference/box.js';
import { iou } from '../inference/box.js';
import { keypointSimilarity, type TrackSample } from './body.js';

export interface TrackerOptions {
  /** A track not matched for this long (capture time, ms) is dropped. */
  maxMissedMs: number;
  /** Pairs whose mean of IoU and OKS is below this are never matched, 0..1. */
  minSimilarity: number;
  /** Samples older than this (ms before the newest frame) leave a track's window. */
  windowMs: number;
  /** Hard cap on samples per track, whatever the frame rate. */
  maxSamples: number;
}

export interface Track {
  /** `<seq>-<n>`: the frame seq where the track was born and its index among that frame's new tracks. */
  id: string;
  /** Inferred frames since the track was last matched. */
  missed: number;
  /** Oldest first; the last one is the newest frame the person was matched in. */
  samples: TrackSample[];
}

/** A track ends when unmatched for maxMissedMs and at least this many inferred frames. */
export const MIN_MISSED_FRAMES = 2;

export interface FrameInput {
  seq: number;
  capturedAt: number;
  persons: Person[];
}

export interface Tracker {
  /** Assigns one track id per person, in the order of `frame.persons`; frames must come in seq order. */
  update(frame: FrameInput): string[];
  /** Live tracks (matched within maxMissedMs), in birth order. */
  tracks(): Track[];
}

function predictedBox(track: Track, at: number): Box {
  const s = track.samples;
  const last = s[s.length - 1]!;
  const prev = s[s.length - 2];
  if (!prev || last.capturedAt <= prev.capturedAt) return last.box;
  // constant velocity, capped at one frame interval ahead so a jittery pair cannot fling the box away
  const f = Math.min((at - last.capturedAt) / (last.capturedAt - prev.capturedAt), 1);
  return [last.box[0] + (last.box[0] - prev.box[0]) * f, last.box[1] + (last.box[1] - prev.box[1]) * f, last.box[2], last.box[3]];
}

/**
 * 0..1: half box overlap and keypoint similarity (OKS), half nearness of the
 * box centres in units of the person's height. People walking at a few
 * inferred frames per second move further than their own width between
 * frames, where IoU and OKS fall to 0 but nearness still tells who is who.
 */
export function similarity(track: Track, person: Person, at: number): number {
  const last = track.samples[track.samples.length - 1]!;
  const box = predictedBox(track, at);
  const scale = Math.sqrt(Math.max(person.box[2] * person.box[3], 1));
  const h = Math.max(box[3], person.box[3], 1);
  const d = Math.hypot(box[0] + box[2] / 2 - person.box[0] - person.box[2] / 2, box[1] + box[3] / 2 - person.box[1] - person.box[3] / 2);
  const sizes = Math.min(box[3], person.box[3]) / h;
  const near = Math.exp(-(d * d) / (2 * (0.5 * h) ** 2)) * sizes;
  return (iou(box, person.box) + keypointSimilarity(last.keypoints, person.keypoints, scale, 0.2)) / 4 + near / 2;
}

export function createTracker(options: TrackerOptions): Tracker {
  let tracks: Track[] = [];

  return {
    update(frame) {
      // Ends only after unmatched frames too: no frames at all (the service was down) is no evidence of absence.
      tracks = tracks.filter((t) => t.missed < MIN_MISSED_FRAMES || frame.capturedAt - t.samples[t.samples.length - 1]!.capturedAt <= options.maxMissedMs);
      const pairs: { t: number; p: number; score: number }[] = [];
      tracks.forEach((track, t) => frame.persons.forEach((person, p) => {
        const score = similarity(track, person, frame.capturedAt);
        if (score >= options.minSimilarity) pairs.push({ t, p, score });
      }));
      pairs.sort((a, b) => b.score - a.score || a.t - b.t || a.p - b.p);
      const ids: (string | undefined)[] = frame.persons.map(() => undefined);
      const taken = new Set<number>();
      for (const { t, p } of pairs) {
        if (taken.has(t) || ids[p] !== undefined) continue;
        taken.add(t);
        ids[p] = tracks[t]!.id;
      }
      let born = 0;
      frame.persons.forEach((person, p) => {
        const sample: TrackSample = { seq: frame.seq, capturedAt: frame.capturedAt, box: person.box, keypoints: person.keypoints };
        let track = ids[p] === undefined ? undefined : tracks.find((t) => t.id === ids[p]);
        if (!track) {
          track = { id: `${frame.seq}-${born++}`, missed: 0, samples: [] };
          tracks.push(track);
          ids[p] = track.id;
        }
        track.samples.push(sample);
        track.missed = -1; // +1 below
        const from = track.samples.findIndex((s) => frame.capturedAt - s.capturedAt <= options.windowMs);
        track.samples.splice(0, Math.max(from, track.samples.length - options.maxSamples, 0));
      });
      for (const t of tracks) t.missed++;
      return ids as string[];
    },
    tracks: () => tracks,
  };
}
