// Where frames wait for the broker, behind one interface (as Telegraf's
// outputs keep a memory buffer and a disk buffer): accept a frame, take the
// oldest as a batch, then acknowledge it or reject it. This file has the
// memory buffer; spool-buffer.ts puts the on-disk spool behind the same
// interface.
import type { SpoolBatch } from './spool.js';
import type { SpoolRecord } from './spool-record.js';
import type { DropReason } from './types.js';

/** A frame record waiting in memory. */
export interface Item {
  msg: SpoolRecord;
  /** recordSize() of msg. */
  size: number;
  /** Epoch ms of submit(), for the latency of frames sent from memory. */
  submittedAt: number;
}

/** Frames taken for one request: from memory (out of the queue) or from the spool (still in it until acknowledged). */
export type Batch =
  | { from: 'memory'; items: Item[] }
  | { from: 'spool'; spooled: SpoolBatch };

/** Out of the records offered, how many one request consumes (sent, or dropped on the way). */
export type Fit = (records: SpoolRecord[]) => number;

/**
 * Why a batch was not sent: `resend` puts it back at the front as it was
 * (a smaller request will follow); `undeliverable` (broker gone) hands it to
 * wherever that buffer's unsendable frames go.
 */
export type Rejection = 'resend' | 'undeliverable';

export interface FrameBuffer {
  readonly kind: 'memory' | 'spool';
  /** Takes a frame at the back. False when it cannot (the spool's write backlog is full); the caller counts the drop. */
  accept(item: Item): boolean;
  /** The oldest frames, at most `limit`; `fit` says how many this batch keeps. Undefined when empty. */
  take(limit: { frames: number; bytes: number }, fit: Fit): Promise<Batch | undefined>;
  /** The broker has the first `count` frames of the batch; any after them are taken again next time. */
  ack(batch: Batch, count: number): Promise<void>;
  /** Not sent. Returns the buffer now holding the frames, or undefined when they were dropped. */
  reject(batch: Batch, why: Rejection): FrameBuffer | undefined;
  size(): { frames: number; bytes: number };
}

/** Where memory's frames go when memory cannot keep or send them: counted and dropped, or into another buffer. */
export type Overflow = { to: 'drop' } | { to: 'buffer'; buffer: FrameBuffer };

export interface MemoryBuffer extends FrameBuffer {
  readonly kind: 'memory';
  readonly overflow: Overflow;
  /** Frames and bytes waiting beyond which memory overflows. */
  readonly bound: { maxFrames: number; maxBytes: number };
  /** A batch taken from memory awaits the broker's answer. */
  inFlight(): boolean;
  /** Drops the oldest waiting frames (never the newest) until within the bound; counted as queueFull. */
  trimOldest(): void;
  /** Moves every waiting frame to the overflow, in order. */
  spill(reason: DropReason): void;
  /** On stop: frames in flight (abandoned: their answer no longer counts) and waiting, to the overflow, in order. */
  evacuate(): void;
}

export function createMemoryBuffer(bound: { maxFrames: number; maxBytes: number }, overflow: Overflow, drop: (reason: DropReason, n: number) => void): MemoryBuffer {
  const queue: Item[] = [];
  let bytes = 0;
  /** Batches out for sending; one at a time per lane, in practice one in all. */
  const inFlight = new Set<Batch>();

  const shift = (n: number): Item[] => {
    const items = queue.splice(0, n);
    for (const i of items) bytes -= i.size;
    return items;
  };
  const unshift = (items: Item[]): void => {
    queue.unshift(...items);
    for (const i of items) bytes += i.size;
  };
  const handOver = (items: Item[], reason: DropReason): FrameBuffer | undefined => {
    if (overflow.to === 'drop') {
      if (items.length > 0) drop(reason, items.length);
      return undefined;
    }
    let refused = 0;
    for (const item of items) if (!overflow.buffer.accept(item)) refused++;
    if (refused > 0) drop('spoolFull', refused);
    return overflow.buffer;
  };

  return {
    kind: 'memory',
    overflow,
    bound,
    accept(item) {
      queue.push(item);
      bytes += item.size;
      return true;
    },
    // Synchronous up to its return: the frames leave the queue before the caller awaits anything.
    async take(limit, fit) {
      if (queue.length === 0) return undefined;
      const consumed = fit(queue.slice(0, limit.frames).map((i) => i.msg));
      const batch: Batch = { from: 'memory', items: shift(consumed) };
      inFlight.add(batch);
      return batch;
    },
    async ack(batch, count) {
      if (batch.from !== 'memory' || !inFlight.delete(batch)) return;
      unshift(batch.items.slice(count));
    },
    reject(batch, why) {
      if (batch.from !== 'memory' || !inFlight.delete(batch)) return undefined;
      if (why === 'resend') {
        unshift(batch.items);
        return this;
      }
      return handOver(batch.items, 'sendFailed');
    },
    size: () => ({ frames: queue.length, bytes }),
    inFlight: () => inFlight.size > 0,
    trimOldest() {
      while ((queue.length > bound.maxFrames || bytes > bound.maxBytes) && queue.length > 1) {
        shift(1);
        drop('queueFull', 1);
      }
    },
    spill(reason) {
      handOver(shift(queue.length), reason);
    },
    evacuate() {
      const abandoned = [...inFlight].flatMap((b) => (b.from === 'memory' ? b.items : []));
      inFlight.clear();
      handOver([...abandoned, ...shift(queue.length)], 'stopped');
    },
  };
}
