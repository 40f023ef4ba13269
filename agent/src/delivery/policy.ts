// Delivery's decisions as pure functions of the current state: what happens
// to a new frame, when memory's frames move to the spool, what a failed send
// leads to, and the policy the status line reports. The modes differ only in
// the Wiring passed in (which buffers exist and where the spool drains).
import { BATCH_OVERHEAD } from '@frameline/shared';
import type { SendError } from './retry.js';
import type { DeliveryPolicy } from './types.js';

/** Which buffers are wired, read off the lanes (index.ts's wiring table). */
export interface Wiring {
  /** Where frames go that memory cannot keep or send: dropped (live) or the spool (reliable). */
  overflow: 'drop-oldest' | 'spool';
  /** The spool drains on the frames lane ahead of memory (backfill `inline`), so new frames queue behind it. */
  spoolAhead: boolean;
}

export interface FlowState {
  /** From a failed send or connection attempt until connected again. */
  outage: boolean;
  /** stop() called: no new frames. */
  stopping: boolean;
  /** stop()'s flush is over: everything left goes to the spool. */
  closing: boolean;
  queued: { frames: number; bytes: number };
  queueBound: { maxFrames: number; maxBytes: number };
  /** Frames in the spool (0 when none is wired). */
  spooled: number;
  /** A batch taken from memory awaits the broker; moving frames queued behind it would reorder them. */
  memoryInFlight: boolean;
}

export type FrameDecision =
  | { kind: 'drop'; reason: 'stopped' | 'tooLarge' }
  /** Into memory, for the sender. */
  | { kind: 'queue' }
  /** Into memory, dropping the oldest queued frames beyond the bound (live). */
  | { kind: 'queue-drop-oldest' }
  /** Memory cannot be used now: the queue and the frame go to the spool, in order. */
  | { kind: 'spool' };

const overBound = (s: FlowState): boolean => s.queued.frames > s.queueBound.maxFrames || s.queued.bytes > s.queueBound.maxBytes;

/** Reliable: move memory's frames into the spool now (outage, over the bound, behind a spool that drains first, or stopping). */
export function shouldSpill(s: FlowState, w: Wiring): boolean {
  if (w.overflow !== 'spool' || s.memoryInFlight || s.queued.frames === 0) return false;
  return s.outage || overBound(s) || (w.spoolAhead && s.spooled > 0) || s.closing;
}

/** What happens to a new frame of `size` record bytes (recordSize) now. */
export function decideFrame(size: number, maxBatchBytes: number, s: FlowState, w: Wiring): FrameDecision {
  if (s.stopping) return { kind: 'drop', reason: 'stopped' };
  if (size + BATCH_OVERHEAD > maxBatchBytes) return { kind: 'drop', reason: 'tooLarge' };
  const after: FlowState = { ...s, queued: { frames: s.queued.frames + 1, bytes: s.queued.bytes + size } };
  if (w.overflow === 'drop-oldest') return overBound(after) && after.queued.frames > 1 ? { kind: 'queue-drop-oldest' } : { kind: 'queue' };
  return shouldSpill(after, w) ? { kind: 'spool' } : { kind: 'queue' };
}

export type FailureAction =
  /** Records refused, several in the request: resend them, at most `cap` per request. */
  | { kind: 'split'; cap: number }
  /** The one record in the request was refused: drop it and count it. */
  | { kind: 'drop-record' }
  /** The broker is away: mark it down, reconnect (with a new producer id if asked), keep the frames per the buffer. */
  | { kind: 'reconnect'; renewProducer: boolean }
  /** The ACLs refused it: keep the frames per the buffer and stop trying; only an operator can fix it. */
  | { kind: 'refused' };

/** What a failed request of `frames` records (consuming `consumed` candidates) leads to. */
export function decideFailure(error: Pick<SendError, 'retriable' | 'remedy'>, frames: number, consumed: number): FailureAction {
  if (error.remedy === 'refused') return { kind: 'refused' };
  if (!error.retriable) return frames > 1 ? { kind: 'split', cap: Math.ceil(consumed / 2) } : { kind: 'drop-record' };
  return { kind: 'reconnect', renewProducer: error.remedy === 'renew-producer' };
}

/** The policy the status line and logs report. */
export function deliveryPolicy(s: Pick<FlowState, 'outage' | 'spooled'>, w: Wiring): DeliveryPolicy {
  if (w.overflow === 'drop-oldest') return s.outage ? 'dropping' : 'direct';
  if (s.outage || (w.spoolAhead && s.spooled > 0)) return 'spooling';
  return 'direct';
}
