// From captured frames to frames ready for delivery: fps cap, then optional
// motion gate, then optional resize. The pipeline owns the counters of what
// it drops. It pulls from the source as fast as frames come (the fps cap is
// cheap and needs no decode) into a short queue; decoding work happens one
// frame at a time, only when the consumer asks for the next frame. If work
// falls behind, the oldest waiting frames are dropped and counted, so lag
// cannot build up. With neither gate nor resize on, no frame is ever decoded.
import { DEFAULT_MAX_FRAME_PIXELS, jpegSize, pixelLimitProblem, type Logger } from '@frameline/shared';
import { createLatestQueue } from '../camera/frame-queue.js';
import type { CapturedFrame } from '../camera/source.js';
import { createSharpCodec, type FrameCodec } from './codec.js';
import { createFpsCap } from './fps-cap.js';
import { createMotionGate, type MotionGateOptions } from './motion-gate.js';

export interface ResizeOptions {
  maxWidth?: number;
  maxHeight?: number;
  /** JPEG quality 1..100 of re-encoded frames. Default 80. */
  quality?: number;
  /** Re-encode frames that already fit too (to apply `quality`). Default false: they pass untouched. */
  reencode?: boolean;
}

export interface PipelineOptions {
  /** Frames above this rate are dropped. Default: no cap. */
  maxFps?: number;
  motion?: MotionGateOptions;
  resize?: ResizeOptions;
  /** Frames waiting for processing; beyond it the oldest is dropped. Default 2. */
  waitingFrames?: number;
  /** Decoder; tests inject a counting one. Default sharp. */
  codec?: FrameCodec;
  /** Frames with more pixels (from the JPEG header) are dropped before the gate or resize decodes them. Default DEFAULT_MAX_FRAME_PIXELS. */
  maxPixels?: number;
}

/** A frame ready for delivery (the record's payload and headers minus camera/run/seq). */
export interface ReadyFrame {
  jpeg: Buffer;
  capturedAt: number;
  width: number;
  height: number;
  /** 0..1 mean absolute difference to the last passed frame, when the gate is on. */
  motion?: number;
}

export interface PipelineStats {
  /** Frames received from the source. */
  captured: number;
  /** Frames handed to the consumer. */
  passed: number;
  droppedByFps: number;
  droppedByGate: number;
  /** Oldest waiting frames dropped because processing fell behind. */
  droppedBehind: number;
  /** Frames that could not be decoded or re-encoded. */
  failed: number;
  /** Frames over maxPixels (or without a readable JPEG header) that the gate or resize would have had to decode. */
  droppedTooManyPixels: number;
  resized: number;
  /** Frames passed by the gate only because the keep-alive was due. */
  keepAlive: number;
  lastMotion: number | null;
}

export interface Pipeline {
  /** Processes a frame stream; ends when `frames` ends. One run at a time. */
  run(frames: AsyncIterable<CapturedFrame>): AsyncIterable<ReadyFrame>;
  stats(): PipelineStats;
}

export function createPipeline(options: PipelineOptions, logger: Logger): Pipeline {
  const log = logger.child('pipeline');
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_FRAME_PIXELS;
  const codec = options.codec ?? createSharpCodec(maxPixels);
  const fpsCap = options.maxFps ? createFpsCap(options.maxFps) : undefined;
  const gate = options.motion ? createMotionGate(options.motion, codec) : undefined;
  const resize = options.resize && (options.resize.maxWidth || options.resize.maxHeight || options.resize.reencode) ? options.resize : undefined;
  const stats: PipelineStats = {
    captured: 0,
    passed: 0,
    droppedByFps: 0,
    droppedByGate: 0,
    droppedBehind: 0,
    failed: 0,
    droppedTooManyPixels: 0,
    resized: 0,
    keepAlive: 0,
    lastMotion: null,
  };
  let droppedBehindBefore = 0;
  let running = false;

  const needsResize = (frame: CapturedFrame, r: ResizeOptions): boolean =>
    Boolean(r.reencode) || (r.maxWidth !== undefined && frame.width > r.maxWidth) || (r.maxHeight !== undefined && frame.height > r.maxHeight);

  /** Gate and resize one frame; undefined when it is dropped. */
  const processFrame = async (frame: CapturedFrame): Promise<ReadyFrame | undefined> => {
    const ready: ReadyFrame = { jpeg: frame.jpeg, capturedAt: frame.capturedAt, width: frame.width, height: frame.height };
    if (gate || resize) {
      const size = jpegSize(frame.jpeg);
      const problem = size ? pixelLimitProblem(size, maxPixels) : 'no JPEG frame header (SOF) to read the size from';
      if (problem) {
        if (stats.droppedTooManyPixels++ % 100 === 0) log.warn('dropping a frame before decoding it', { reason: problem, dropped: stats.droppedTooManyPixels });
        return undefined;
      }
    }
    try {
      if (gate) {
        const verdict = await gate.check(frame.jpeg, frame.capturedAt);
        stats.lastMotion = verdict.score;
        if (!verdict.pass) {
          stats.droppedByGate++;
          return undefined;
        }
        if (verdict.keepAlive) stats.keepAlive++;
        ready.motion = verdict.score;
      }
      if (resize && needsResize(frame, resize)) {
        const out = await codec.resize(frame.jpeg, resize, resize.quality ?? 80);
        ready.jpeg = out.jpeg;
        ready.width = out.width;
        ready.height = out.height;
        stats.resized++;
      }
      return ready;
    } catch (err) {
      // A corrupt frame from the camera costs that frame, not the pipeline.
      if (stats.failed++ % 100 === 0) log.warn('dropping a frame that could not be processed', { error: err as Error, failed: stats.failed });
      return undefined;
    }
  };

  async function* run(frames: AsyncIterable<CapturedFrame>): AsyncGenerator<ReadyFrame> {
    if (running) throw new Error('pipeline is already running');
    running = true;
    const waiting = createLatestQueue<CapturedFrame>(options.waitingFrames ?? 2);
    const input = frames[Symbol.asyncIterator]();
    let intakeError: unknown;
    const intake = (async () => {
      try {
        for (;;) {
          const next = await input.next();
          if (next.done || waiting.closed) break;
          stats.captured++;
          if (fpsCap && !fpsCap.admit(next.value.capturedAt)) stats.droppedByFps++;
          else waiting.push(next.value);
          stats.droppedBehind = droppedBehindBefore + waiting.dropped;
        }
      } catch (err) {
        intakeError = err;
      } finally {
        waiting.close();
      }
    })();
    try {
      for await (const frame of waiting) {
        const ready = await processFrame(frame);
        if (!ready) continue;
        stats.passed++;
        yield ready;
      }
      await intake;
      if (intakeError) throw intakeError;
    } finally {
      // The consumer left early (or we are done): stop pulling from the source.
      // Our sources' streams release a pending next() at once; a plain async
      // generator finishes its current step first.
      waiting.close();
      await input.return?.();
      droppedBehindBefore += waiting.dropped;
      stats.droppedBehind = droppedBehindBefore;
      running = false;
    }
  }

  return { run, stats: () => ({ ...stats }) };
}
