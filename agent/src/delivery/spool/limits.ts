// The spool's limits as a pure decision: which of the oldest segments go now.
// Whole segments only, oldest first, so what stays is a contiguous, ordered tail.

export interface SegmentView {
  /** Framed bytes on disk. */
  size: number;
  /** Epoch ms of its newest record. */
  lastAppendAt: number;
  /** Still being written (always the newest). */
  active: boolean;
}

export interface SpoolLimits {
  maxBytes: number;
  /** 0: no age limit. */
  maxAgeMs: number;
}

export type EvictionReason = 'age' | 'bytes';

/**
 * Reasons for evicting the first `result.length` segments, in order.
 * `headOffset` is the acknowledged part of the first segment; `pendingBytes`
 * are accepted but not yet written. The segment being written goes only when
 * it alone is over the byte limit or too old.
 */
export function planEviction(segments: SegmentView[], headOffset: number, pendingBytes: number, limits: SpoolLimits, now: number): EvictionReason[] {
  const out: EvictionReason[] = [];
  let unacked = pendingBytes - headOffset;
  for (const s of segments) unacked += s.size;
  const take = (reason: EvictionReason) => {
    unacked -= segments[out.length]!.size - (out.length === 0 ? headOffset : 0);
    out.push(reason);
  };
  while (limits.maxAgeMs > 0 && out.length < segments.length && now - segments[out.length]!.lastAppendAt > limits.maxAgeMs) take('age');
  while (unacked > limits.maxBytes && out.length < segments.length && !segments[out.length]!.active) take('bytes');
  if (unacked > limits.maxBytes && out.length === segments.length - 1 && segments[out.length]!.active) take('bytes');
  return out;
}
