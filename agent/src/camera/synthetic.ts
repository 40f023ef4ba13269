// Generated frames for tests, demos and benchmarks: a box moving over a
// gradient with the frame number printed in the corner, encoded by sharp
// from raw pixels (no fonts or SVG renderer needed).
import sharp from 'sharp';
import type { Logger } from '@frameline/shared';
import { createLatestQueue } from './frame-queue.js';
import { createFramePacer, createPlayback } from './pace.js';
import { createCaptureClock, emptyCameraStats, type CameraSource, type CapturedFrame } from './source.js';

export interface SyntheticOptions {
  width: number;
  height: number;
  fps: number;
  /** JPEG quality 1..100. Default 80. */
  quality?: number;
  /** 'moving': box and counter change every frame; 'still': one identical image. Default 'moving'. */
  content?: 'moving' | 'still';
  /** Pre-render this many frames and cycle through them, so high fps costs no encoding. 0 (default): render each frame. */
  cycleFrames?: number;
  /** End the stream after this many frames. Default: never. */
  maxFrames?: number;
  /** Newest frames kept for a slow consumer. Default 3. */
  queueFrames?: number;
}

export function createSyntheticSource(options: SyntheticOptions, logger: Logger): CameraSource {
  const { width, height } = options;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 16 && height >= 16)) {
    throw new RangeError(`synthetic frames need integer width and height >= 16, got ${width}x${height}`);
  }
  const log = logger.child('synthetic');
  const queue = createLatestQueue<CapturedFrame>(options.queueFrames ?? 3);
  const captureClock = createCaptureClock();
  const stats = emptyCameraStats();
  const playback = createPlayback(queue);
  const still = options.content === 'still';
  const quality = options.quality ?? 80;
  const background = gradient(width, height);
  let cycle: Buffer[] = [];

  const render = (index: number): Promise<Buffer> =>
    sharp(still ? background : drawFrame(background, width, height, index), { raw: { width, height, channels: 3 } })
      .jpeg({ quality })
      .toBuffer();

  const frameAt = async (index: number): Promise<Buffer> => {
    if (cycle.length > 0) return cycle[index % cycle.length]!;
    return render(index);
  };

  const play = async (): Promise<void> => {
    const pacer = createFramePacer(options.fps);
    try {
      for (let i = 0; options.maxFrames === undefined || i < options.maxFrames; i++) {
        const jpeg = await frameAt(i);
        await pacer.wait(playback.signal);
        const capturedAt = captureClock();
        stats.frames++;
        stats.bytes += jpeg.length;
        stats.lastFrameAt = capturedAt;
        queue.push({ jpeg, capturedAt, width, height });
      }
    } catch (err) {
      if (!playback.signal.aborted) log.error('synthetic source failed', { error: err as Error });
    } finally {
      queue.close();
    }
  };

  return {
    async start() {
      playback.claim();
      playback.running();
      const k = still ? 1 : (options.cycleFrames ?? 0);
      cycle = await Promise.all(Array.from({ length: k }, (_, i) => render(i)));
      log.info('generating frames', { width, height, fps: options.fps, cycleFrames: cycle.length });
      playback.playing(play());
    },
    stop: playback.stop,
    frames: () => queue,
    stats: () => ({ ...stats, droppedFrames: queue.dropped }),
  };
}

function gradient(width: number, height: number): Buffer {
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      px[o] = 40 + Math.round((x / width) * 120);
      px[o + 1] = 60 + Math.round((y / height) * 100);
      px[o + 2] = 110;
    }
  }
  return px;
}

/** The background with a box bouncing left-right and the frame number in the top-left corner. */
function drawFrame(background: Buffer, width: number, height: number, index: number): Buffer {
  const px = Buffer.from(background);
  const box = Math.max(4, Math.floor(Math.min(width, height) / 4));
  const travel = width - box;
  const phase = (index * 4) % (2 * travel || 1);
  const x0 = phase < travel ? phase : 2 * travel - phase;
  const y0 = Math.floor((height - box) / 2 + Math.sin(index / 8) * (height - box) * 0.4);
  fillRect(px, width, height, x0, y0, box, box, [240, 200, 40]);
  drawNumber(px, width, height, index, Math.max(2, Math.floor(height / 60)));
  return px;
}

function fillRect(px: Buffer, width: number, height: number, x0: number, y0: number, w: number, h: number, rgb: [number, number, number]): void {
  for (let y = Math.max(0, y0); y < Math.min(height, y0 + h); y++) {
    for (let x = Math.max(0, x0); x < Math.min(width, x0 + w); x++) {
      const o = (y * width + x) * 3;
      px[o] = rgb[0];
      px[o + 1] = rgb[1];
      px[o + 2] = rgb[2];
    }
  }
}

// 3x5 digit glyphs, one row per 3 bits.
const DIGITS = ['111101101101111', '010110010010111', '111001111100111', '111001111001111', '101101111001001', '111100111001111', '111100111101111', '111001010010010', '111101111101111', '111101111001111'];

function drawNumber(px: Buffer, width: number, height: number, value: number, scale: number): void {
  const text = String(value);
  fillRect(px, width, height, 0, 0, (text.length * 4 + 1) * scale, 7 * scale, [0, 0, 0]);
  for (let d = 0; d < text.length; d++) {
    const glyph = DIGITS[Number(text[d])]!;
    for (let bit = 0; bit < 15; bit++) {
      if (glyph[bit] !== '1') continue;
      const gx = (1 + d * 4 + (bit % 3)) * scale;
      const gy = (1 + Math.floor(bit / 3)) * scale;
      fillRect(px, width, height, gx, gy, scale, scale, [255, 255, 255]);
    }
  }
}
