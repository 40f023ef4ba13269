/**
 * The analysis stage for every camera: tracks persons across inferred frames,
 * runs the detectors on the tracks and debounces their detections into
 * events. Pure in-memory and deterministic: the same inferred frames, in the
 * same order, give the same track ids and events (which keeps alert keys
 * stable when state is rebuilt from replayed records after a restart).
 */
import type { Person } from '../inference/index.js';
import type { InferenceRecord } from '../publish/record.js';
import { createDebouncer, type Debouncer, type HysteresisOptions } from './debounce.js';
import type { Detection, Detector, FrameInfo } from './detector.js';
import { createFallDetector, type FallOptions } from './fall.js';
import { createFightDetector, type FightOptions } from './fight.js';
import { createTemporalModelDetector, type TemporalModelOptions } from './temporal-model.js';
import { createTracker, type Tracker, type TrackerOptions } from './tracker.js';
import { createZoneDetector, type ZoneOptions } from './zone.js';

export interface AnalysisOptions {
  tracker: TrackerOptions;
  hysteresis: HysteresisOptions;
  fall: FallOptions | null;
  fight: FightOptions | null;
  zones: ZoneOptions[];
  temporalModel: TemporalModelOptions | null;
  /** A camera without frames for this long (ms) loses its state. */
  idleCameraMs: number;
}

/** An event that opened with this frame. */
export interface RaisedEvent {
  detection: Detection;
  frame: FrameInfo;
  /** Seqs of the involved tracks' samples from the event's start to this frame, oldest first. */
  seqs: number[];
  /** This frame's persons, with their track ids. */
  persons: Person[];
}

export interface Analysis {
  /**
   * Tracks the record's persons (sets `persons[i].track`) and returns the
   * events that open with it. Records of a camera must come in seq order;
   * a repeated seq (inferred again after a restart) gets the track ids it got
   * the first time, an older one none; neither changes any state.
   */
  process(record: InferenceRecord): Promise<RaisedEvent[]>;
  close(): Promise<void>;
}

interface CameraState {
  run: string;
  lastSeq: number;
  lastAt: number;
  tracker: Tracker;
  debouncer: Debouncer;
  /** Track ids of the latest frames by seq, for frames inferred twice (bounded by RECENT_FRAMES). */
  recent: Map<number, string[]>;
}

const RECENT_FRAMES = 256;

export async function createAnalysis(o: AnalysisOptions): Promise<Analysis> {
  const detectors: Detector[] = [];
  if (o.fall) detectors.push(createFallDetector(o.fall));
  if (o.fight) detectors.push(createFightDetector(o.fight));
  if (o.zones.length > 0) detectors.push(createZoneDetector(o.zones));
  if (o.temporalModel) detectors.push(await createTemporalModelDetector(o.temporalModel));
  const cameras = new Map<string, CameraState>();

  function state(record: InferenceRecord): CameraState | undefined {
    for (const [camera, s] of cameras) if (record.capturedAt - s.lastAt > o.idleCameraMs) cameras.delete(camera);
    let s = cameras.get(record.camera);
    if (s && s.run === record.run && record.seq <= s.lastSeq) {
      const ids = s.recent.get(record.seq);
      if (ids?.length === record.persons.length) record.persons.forEach((p, i) => (p.track = ids[i]));
      return undefined;
    }
    if (!s || s.run !== record.run) {
      s = { run: record.run, lastSeq: -1, lastAt: record.capturedAt, tracker: createTracker(o.tracker), debouncer: createDebouncer(o.hysteresis), recent: new Map() };
      cameras.set(record.camera, s);
    }
    return s;
  }

  return {
    async process(record) {
      if (record.late) return [];
      const s = state(record);
      if (!s) return [];
      s.lastSeq = record.seq;
      s.lastAt = record.capturedAt;
      const ids = s.tracker.update(record);
      record.persons.forEach((p, i) => (p.track = ids[i]));
      s.recent.set(record.seq, ids);
      if (s.recent.size > RECENT_FRAMES) s.recent.delete(s.recent.keys().next().value!);
      const frame: FrameInfo = { camera: record.camera, run: record.run, seq: record.seq, capturedAt: record.capturedAt, width: record.frame.width, height: record.frame.height };
      const tracks = s.tracker.tracks();
      const detections = (await Promise.all(detectors.map((d) => d.update(tracks, frame)))).flat();
      return s.debouncer.update(detections, frame).map(({ detection }) => {
        const involved = tracks.filter((t) => detection.tracks.includes(t.id));
        const seqs = [...new Set(involved.flatMap((t) => t.samples.map((x) => x.seq)).filter((q) => q >= detection.startSeq))].sort((a, b) => a - b);
        return { detection, frame, seqs, persons: record.persons };
      });
    },
    async close() {
      await Promise.all(detectors.map((d) => d.close?.()));
    },
  };
}
