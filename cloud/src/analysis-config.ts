// Config keys of the events stage (analysis.*, alerts.*): merged into the
// cloud schema by config.ts, checked there once at start.
import { parseDuration, type ConfigIssue } from '@frameline/shared';

export interface ZoneConfig {
  camera: string;
  name: string;
  /** [x, y] corners, fractions of the frame (0..1). */
  polygon: [number, number][];
  /** ms */
  dwell: number;
}

export interface AnalysisConfig {
  enabled: boolean;
  window: number;
  maxSamples: number;
  replay: number;
  tracker: { maxMissed: number; minSimilarity: number };
  hysteresis: { open: number; keep: number; hold: number };
  fall: { enabled: boolean; minDrop: number; maxDropTime: number; still: number; maxStillMotion: number; uprightDeg: number; lyingDeg: number };
  fight: { enabled: boolean; maxDistance: number; minLimbSpeed: number; window: number; minSteps: number; minActiveShare: number };
  zones: ZoneConfig[];
  temporalModel: { path: string; kind: string; frames: number; persons: number; threshold: number; every: number };
}

export interface AlertsConfig {
  snapshotWidth: number;
  snapshotQuality: number;
  dedupeHorizon: number;
  maxKeys: number;
}

type Key = (path: string, doc: string, format: unknown, def: unknown, extra?: Record<string, unknown>) => unknown;

export function analysisSchema(key: Key) {
  return {
    analysis: {
      enabled: key('analysis.enabled', 'Track persons and run the detectors; alerts go to topics.alerts.', Boolean, true),
      window: key('analysis.window', 'How much of each track the detectors see (longer than every dwell and fall time).', 'duration', 10_000),
      maxSamples: key('analysis.maxSamples', 'Most samples kept per track, whatever the frame rate.', 'nat', 300),
      replay: key('analysis.replay', 'Results read back from topics.inferences at start to rebuild tracks and open events (0: none).', 'duration', 60_000),
      tracker: {
        maxMissed: key('analysis.tracker.maxMissed', 'A track not seen for this long ends.', 'duration', 2000),
        minSimilarity: key('analysis.tracker.minSimilarity', 'Least similarity (box IoU, keypoint OKS, centre distance; see tracker.ts) that continues a track, 0..1.', Number, 0.2),
      },
      hysteresis: {
        open: key('analysis.hysteresis.open', 'Detection score that opens an event (one alert), 0..1.', Number, 0.5),
        keep: key('analysis.hysteresis.keep', 'Lower score that keeps an open event alive, 0..1.', Number, 0.3),
        hold: key('analysis.hysteresis.hold', 'An event closes after this long without a detection that keeps it.', 'duration', 3000),
      },
      fall: {
        enabled: key('analysis.fall.enabled', 'Detect falls.', Boolean, true),
        minDrop: key('analysis.fall.minDrop', 'Hip drop, in torso lengths.', Number, 0.8),
        maxDropTime: key('analysis.fall.maxDropTime', 'The drop happens within this time.', 'duration', 1500),
        still: key('analysis.fall.still', 'Then lying for this long (getting up sooner cancels).', 'duration', 2000),
        maxStillMotion: key('analysis.fall.maxStillMotion', 'Largest hip movement while lying, torso lengths.', Number, 0.6),
        uprightDeg: key('analysis.fall.uprightDeg', 'Torso within this many degrees of vertical is upright.', Number, 35),
        lyingDeg: key('analysis.fall.lyingDeg', 'Torso this many degrees or more from vertical is lying.', Number, 60),
      },
      fight: {
        enabled: key('analysis.fight.enabled', 'Detect fights (a low-confidence heuristic).', Boolean, true),
        maxDistance: key('analysis.fight.maxDistance', 'Hip centres at most this far apart, torso lengths.', Number, 2.5),
        minLimbSpeed: key('analysis.fight.minLimbSpeed', 'Wrist or ankle speed toward the other person (relative to own hips), torso lengths per second.', Number, 3),
        window: key('analysis.fight.window', 'Look back this far.', 'duration', 2000),
        minSteps: key('analysis.fight.minSteps', 'Frame steps with both persons needed in the window.', 'nat', 3),
        minActiveShare: key('analysis.fight.minActiveShare', 'Share of those steps that must be close and fast, 0..1.', Number, 0.6),
      },
      zones: key('analysis.zones', 'Zones: [{ camera, name, polygon: [[x, y], ...] as frame fractions 0..1, dwell }].', Array, []),
      temporalModel: {
        path: key('analysis.temporalModel.path', 'ONNX temporal model ([T, persons, 33, 3] in, score out; see cloud/src/publish/ALERTS.md); empty: none.', String, ''),
        kind: key('analysis.temporalModel.kind', 'Alert kind of its events.', String, 'violence'),
        frames: key('analysis.temporalModel.frames', 'T: frames per window.', 'nat', 16),
        persons: key('analysis.temporalModel.persons', 'Persons per window (the track and its nearest neighbours).', 'nat', 2),
        threshold: key('analysis.temporalModel.threshold', 'Score that counts as a detection, 0..1.', Number, 0.8),
        every: key('analysis.temporalModel.every', 'Run on frames whose seq is a multiple of this.', 'nat', 1),
      },
    },
    alerts: {
      snapshotWidth: key('alerts.snapshotWidth', 'Width of the skeleton snapshot inside each alert, px.', 'nat', 256),
      snapshotQuality: key('alerts.snapshotQuality', 'JPEG quality of the snapshot, 1..100.', 'nat', 50),
      dedupeHorizon: key('alerts.dedupeHorizon', 'Alert keys read back from topics.alerts at start, so none is published twice.', 'duration', 24 * 3600_000),
      maxKeys: key('alerts.maxKeys', 'Most alert keys remembered for deduplication.', 'nat', 100_000),
    },
  };
}

/** Range and shape checks; parses zone dwell times into ms in place. */
export function checkAnalysis(a: AnalysisConfig, alerts: AlertsConfig): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const unit = (k: string, v: number) => { if (!(v >= 0 && v <= 1)) issues.push({ key: k, message: `must be between 0 and 1, got ${v}` }); };
  unit('analysis.tracker.minSimilarity', a.tracker.minSimilarity);
  unit('analysis.hysteresis.open', a.hysteresis.open);
  unit('analysis.hysteresis.keep', a.hysteresis.keep);
  unit('analysis.fight.minActiveShare', a.fight.minActiveShare);
  unit('analysis.temporalModel.threshold', a.temporalModel.threshold);
  if (a.hysteresis.keep > a.hysteresis.open) issues.push({ key: 'analysis.hysteresis.keep', message: 'must not exceed analysis.hysteresis.open' });
  if (a.fall.uprightDeg >= a.fall.lyingDeg) issues.push({ key: 'analysis.fall.uprightDeg', message: 'must be below analysis.fall.lyingDeg' });
  if (a.window < a.fall.maxDropTime + a.fall.still) issues.push({ key: 'analysis.window', message: 'must cover analysis.fall.maxDropTime + analysis.fall.still' });
  if (a.temporalModel.frames < 1 || a.temporalModel.persons < 1 || a.temporalModel.every < 1) issues.push({ key: 'analysis.temporalModel', message: 'frames, persons and every must be at least 1' });
  if (alerts.snapshotQuality < 1 || alerts.snapshotQuality > 100) issues.push({ key: 'alerts.snapshotQuality', message: 'must be 1..100' });
  if (alerts.snapshotWidth < 16) issues.push({ key: 'alerts.snapshotWidth', message: 'must be at least 16 px' });
  a.zones.forEach((z: unknown, i) => {
    const k = `analysis.zones[${i}]`;
    const zone = z as Record<string, unknown>;
    if (!zone || typeof zone !== 'object') return void issues.push({ key: k, message: 'must be an object { camera, name, polygon, dwell }' });
    const extra = Object.keys(zone).filter((x) => !['camera', 'name', 'polygon', 'dwell'].includes(x));
    if (extra.length > 0) issues.push({ key: `${k}.${extra[0]}`, message: 'unknown key (a zone has camera, name, polygon, dwell)' });
    if (typeof zone.camera !== 'string' || !zone.camera) issues.push({ key: `${k}.camera`, message: 'must be a camera id' });
    if (typeof zone.name !== 'string' || !zone.name) issues.push({ key: `${k}.name`, message: 'must be a non-empty name' });
    const poly = zone.polygon;
    if (!Array.isArray(poly) || poly.length < 3 || !poly.every((p) => Array.isArray(p) && p.length === 2 && p.every((v) => typeof v === 'number' && v >= 0 && v <= 1))) {
      issues.push({ key: `${k}.polygon`, message: 'must be at least 3 [x, y] corners, each a fraction of the frame 0..1' });
    }
    try {
      zone.dwell = parseDuration(zone.dwell ?? 0);
    } catch (err) {
      issues.push({ key: `${k}.dwell`, message: (err as Error).message });
    }
  });
  return issues;
}
