// The inference record on video.inferences (documented in SCHEMA.md), and
// how one is built from a dispatched frame and its worker's output.
import type { Person, PoseResult } from '../inference/index.js';
import type { BatchOutput } from '../inference/pool/pool.js';
import { reportableAge, type Dispatched } from '../scheduler/scheduler.js';

export const INFERENCE_SCHEMA = 1;

export interface InferenceRecord {
  schema: typeof INFERENCE_SCHEMA;
  camera: string;
  run: string;
  seq: number;
  /** Epoch ms: when the camera took the frame (fl-captured-at, or the record timestamp for foreign producers). */
  capturedAt: number;
  /** Epoch ms: when the cloud consumed the record. */
  ingestedAt: number;
  /** Epoch ms: when inference of the frame finished. */
  inferredAt: number;
  /** Epoch ms: when the record was handed to the producer. */
  publishedAt?: number;
  /** `source`: the image file, for records printed by `frameline-cloud infer`. */
  frame: { width: number; height: number; source?: string };
  model: string;
  /** `track`: the person's track id on this camera (see SCHEMA.md); absent for late frames and repeats. */
  persons: (Person & { track?: string })[];
  /**
   * Milliseconds: the model's own steps plus decodeMs, inferMs (whole batch), waitMs (consumed to inference start),
   * ageMs (captured to inference start, with the camera's clock correction; absent when clockAhead),
   * clockCorrectionMs (added to capturedAt for ageMs; present when not 0).
   */
  timings: Record<string, number>;
  /** The capture time lies ahead of the cloud's clock (camera clock ahead, not yet corrected): the frame's age is unknown. */
  clockAhead?: true;
  /** From the backfill topic: spooled by the agent during an outage, inferred late. */
  late?: true;
  /** Frames of this camera skipped (superseded or too old) since its previous inferred frame. */
  skippedSince?: number;
}

export function serialiseRecord(record: InferenceRecord): string {
  return JSON.stringify(record, (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v));
}

/** The frame's image as the worker decoded it. */
export interface Inferred {
  result: PoseResult;
  width: number;
  height: number;
}

/** The record for one frame of a finished batch; inferredAt is epoch ms. */
export function buildRecord(d: Dispatched, inferred: Inferred, out: BatchOutput, model: string, inferredAt: number): InferenceRecord {
  const f = d.job.frame;
  const record: InferenceRecord = {
    schema: INFERENCE_SCHEMA,
    camera: f.camera,
    run: f.run,
    seq: f.seq,
    capturedAt: f.capturedAt,
    ingestedAt: d.job.ingestedAt,
    inferredAt,
    frame: { width: inferred.width, height: inferred.height },
    model,
    persons: inferred.result.persons.map((p) => ({ box: p.box, score: p.score, keypoints: p.keypoints })),
    timings: { ...inferred.result.timings, decodeMs: out.decodeMs, inferMs: out.inferMs, waitMs: d.startedAt - d.job.ingestedAt },
  };
  const age = reportableAge(d.ageMs);
  if (age === undefined) record.clockAhead = true;
  else record.timings.ageMs = age;
  if (d.job.clockCorrectionMs) record.timings.clockCorrectionMs = d.job.clockCorrectionMs;
  if (d.job.source === 'backfill') record.late = true;
  else record.skippedSince = d.skippedSince;
  return record;
}
