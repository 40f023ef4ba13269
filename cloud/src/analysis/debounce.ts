/**
 * Hysteresis from per-frame detections to events: an event opens on the
 * first detection scoring at least `open` and stays open while detections
 * of the same kind, label and tracks keep scoring at least `keep` (lower);
 * it closes after `holdMs` of capture time and MIN_MISSED_FRAMES inferred
 * frames without one (a pause in inference is no evidence). Only opening raises
 * an alert, so one event gives one alert however many frames it spans.
 */
import type { Detection, FrameInfo } from './detector.js';
import { MIN_MISSED_FRAMES } from './tracker.js';

export interface HysteresisOptions {
  /** Score that opens an event, 0..1. */
  open: number;
  /** Score that keeps an open event alive, 0..open. */
  keep: number;
  /** Close an event after this many ms without a detection that keeps it. */
  holdMs: number;
}

export interface OpenEvent {
  detection: Detection;
  lastAt: number;
  /** Frames since the last detection that kept it. */
  missed: number;
  peak: number;
}

export interface Debouncer {
  /** Feeds one frame's detections; returns the events that opened with this frame. */
  update(detections: Detection[], frame: FrameInfo): OpenEvent[];
  open(): OpenEvent[];
}

const identity = (d: Detection) => `${d.kind}\u0000${d.label}\u0000${d.tracks.join(',')}`;

export function createDebouncer(o: HysteresisOptions): Debouncer {
  const events = new Map<string, OpenEvent>();
  return {
    update(detections, frame) {
      const opened: OpenEvent[] = [];
      for (const d of detections) {
        const id = identity(d);
        const e = events.get(id);
        if (e && d.score >= o.keep) {
          e.lastAt = frame.capturedAt;
          e.missed = -1;
          e.peak = Math.max(e.peak, d.score);
        } else if (!e && d.score >= o.open) {
          const event = { detection: d, lastAt: frame.capturedAt, missed: -1, peak: d.score };
          events.set(id, event);
          opened.push(event);
        }
      }
      for (const [id, e] of events) {
        e.missed++;
        if (e.missed >= MIN_MISSED_FRAMES && frame.capturedAt - e.lastAt > o.holdMs) events.delete(id);
      }
      return opened;
    },
    open: () => [...events.values()],
  };
}
