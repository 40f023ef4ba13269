// Per camera, an ordered window of its latest frames (a ring buffer), reset
// when the agent restarts (new fl-run); sequence gaps are counted. Later
// stages (temporal analysis) read it; inference results are attached to it.
import type { Frame } from '@frameline/shared';

export interface WindowEntry<R = unknown> {
  frame: Frame;
  ingestedAt: number;
  /** Set when this frame was inferred. */
  result?: R;
}

export interface CameraWindow<R = unknown> {
  readonly camera: string;
  readonly run: string;
  /** Frames missing from the sequence in this run (lost upstream or on the DLQ). */
  readonly gaps: number;
  /** Oldest first. */
  entries(): WindowEntry<R>[];
  latest(): WindowEntry<R> | undefined;
  find(seq: number): WindowEntry<R> | undefined;
}

export interface PushOutcome {
  reset: boolean;
  gap: number;
  /** The frame is older than one already seen in this run (a duplicate after a rebalance). */
  stale: boolean;
}

export interface Windows<R = unknown> {
  push(frame: Frame, ingestedAt: number): PushOutcome;
  get(camera: string): CameraWindow<R> | undefined;
  cameras(): string[];
}

export function createWindows<R = unknown>(size: number): Windows<R> {
  const byCamera = new Map<string, ReturnType<typeof ring>>();

  function ring(camera: string, run: string) {
    const slots: (WindowEntry<R> | undefined)[] = new Array(size);
    let count = 0;
    let next = 0;
    let lastSeq = -1;
    const view = {
      camera,
      run,
      gaps: 0,
      entries(): WindowEntry<R>[] {
        const out: WindowEntry<R>[] = [];
        for (let i = count; i > 0; i--) out.push(slots[(next - i + size) % size]!);
        return out;
      },
      latest: () => (count > 0 ? slots[(next - 1 + size) % size] : undefined),
      find(seq: number) {
        for (let i = 1; i <= count; i++) {
          const e = slots[(next - i + size) % size]!;
          if (e.frame.seq === seq) return e;
          if (e.frame.seq < seq) return undefined;
        }
        return undefined;
      },
      add(entry: WindowEntry<R>): { gap: number; stale: boolean } {
        const seq = entry.frame.seq;
        if (seq <= lastSeq) return { gap: 0, stale: true };
        const gap = lastSeq < 0 ? 0 : seq - lastSeq - 1;
        view.gaps += gap;
        lastSeq = seq;
        slots[next] = entry;
        next = (next + 1) % size;
        count = Math.min(count + 1, size);
        return { gap, stale: false };
      },
    };
    return view;
  }

  return {
    push(frame, ingestedAt) {
      let w = byCamera.get(frame.camera);
      let reset = false;
      if (!w || w.run !== frame.run) {
        reset = w !== undefined;
        w = ring(frame.camera, frame.run);
        byCamera.set(frame.camera, w);
      }
      const { gap, stale } = w.add({ frame, ingestedAt });
      return { reset, gap, stale };
    },
    get: (camera) => byCamera.get(camera),
    cameras: () => [...byCamera.keys()],
  };
}
