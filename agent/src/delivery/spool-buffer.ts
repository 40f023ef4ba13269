// The on-disk spool behind the buffer interface. Frames stay in the spool
// until acknowledged, so a rejected batch needs no undoing: the next take()
// reads the same records again.
import type { Logger } from '@frameline/shared';
import type { Batch, FrameBuffer } from './buffer.js';
import { DEFAULT_SPOOL_OPTIONS, openSpool, type Spool, type SpoolOptions, type SpoolStats } from './spool.js';

export interface SpoolBuffer extends FrameBuffer {
  readonly kind: 'spool';
  /** Opens (and recovers) the spool directory; before that the buffer is empty and refuses frames. */
  open(): Promise<void>;
  /** Writes what is queued, fsyncs and closes. */
  close(): Promise<void>;
  stats(): SpoolStats | undefined;
}

export function createSpoolBuffer(options: Partial<SpoolOptions> & { dir: string }, logger: Logger): SpoolBuffer {
  let spool: Spool | undefined;
  return {
    kind: 'spool',
    async open() {
      spool = await openSpool({ ...DEFAULT_SPOOL_OPTIONS, ...options }, { logger });
    },
    close: async () => spool?.close(),
    stats: () => spool?.stats(),
    accept: (item) => spool?.append(item.msg) ?? false,
    async take(limit, fit) {
      const batch = await spool?.read(limit.frames, limit.bytes);
      if (!batch) return undefined;
      // Frames fit() leaves out stay in the spool; the batch's ends say how far an ack goes.
      const keep = fit(batch.records);
      const ends = batch.ends.slice(0, keep);
      return { from: 'spool', spooled: { ...batch, records: batch.records.slice(0, keep), ends, bytes: (ends[ends.length - 1] ?? batch.start.offset) - batch.start.offset } };
    },
    async ack(batch: Batch, count: number) {
      if (batch.from === 'spool' && count > 0) await spool?.ack(batch.spooled, count);
    },
    reject() {
      return this;
    },
    size() {
      const s = spool?.stats();
      return { frames: s?.frames ?? 0, bytes: s?.bytes ?? 0 };
    },
  };
}
