// Whether a camera that does send bytes sends usable frames. Counters alone
// (truncated, corrupt, discarded bytes) grow slowly on a healthy camera too:
// a restart cuts one frame. What the operator must hear about is a camera
// whose output is nearly all broken (wrong codec in extraArgs, a failing
// ribbon cable, an encoder bug), so this keeps the outcome of the last
// `window` frames and raises `broken` once per episode, with hysteresis.
import type { Logger } from '@frameline/shared';
import type { JpegSplitterStats } from './jpeg-splitter.js';

export interface FrameHealthOptions {
  /**
   * Outcomes judged together. 50 frames: about 2 s at 25 fps, 5 s at 10 fps,
   * so a broken camera is reported within seconds, while one cut frame per
   * camera restart (2% of the window) never comes near the threshold.
   */
  window: number;
  /** Share of broken outcomes in a full window that raises `broken` (0..1). */
  raiseShare: number;
  /** Share at or below which a raised `broken` clears; below raiseShare so a camera hovering near it does not flap. */
  clearShare: number;
  /**
   * Stray bytes (outside any frame) that count as one broken outcome. A
   * working camera writes none; 64 KiB is one pipe read and about one
   * 640×480 MJPEG frame, so a stream of garbage weighs like frames would.
   */
  strayBytesPerFrame: number;
}

export const DEFAULT_FRAME_HEALTH: FrameHealthOptions = { window: 50, raiseShare: 0.9, clearShare: 0.5, strayBytesPerFrame: 64 * 1024 };

export interface FrameHealthStats {
  /** Nearly every recent frame was broken; cleared when most are good again. */
  broken: boolean;
  /** Broken share of the outcomes in the window (0..1; 0 while it is empty). */
  brokenShare: number;
  /** Broken outcomes since start: cut, corrupt, oversized or headerless frames, and stray-byte units. */
  brokenFrames: number;
  /** Episodes of `broken` since start. */
  brokenEpisodes: number;
}

export interface FrameHealth {
  /** A frame that parsed as a complete JPEG with a frame header. */
  good(): void;
  /** A complete frame that no decoder can use (no frame header). */
  undecodable(): void;
  /** Records what the splitter threw away since the last call (its counters are cumulative). */
  fromSplitter(stats: JpegSplitterStats): void;
  stats(): FrameHealthStats;
}

/** Splitter counters whose increase means frames that were lost to breakage. */
const BROKEN_COUNTERS = ['truncatedFrames', 'corruptFrames', 'oversizedFrames'] as const;

export function createFrameHealth(options: FrameHealthOptions, log: Logger): FrameHealth {
  if (!(options.window >= 1 && options.clearShare < options.raiseShare && options.raiseShare <= 1)) {
    throw new RangeError('frame health needs window >= 1 and clearShare < raiseShare <= 1');
  }
  // A ring of the last `window` outcomes: true = broken.
  const ring: boolean[] = new Array<boolean>(options.window).fill(false);
  let filled = 0;
  let next = 0;
  let brokenInRing = 0;
  let broken = false;
  let brokenFrames = 0;
  let brokenEpisodes = 0;
  let strayCarry = 0;
  const seen = { truncatedFrames: 0, corruptFrames: 0, oversizedFrames: 0, strayBytes: 0 };

  const share = (): number => (filled === 0 ? 0 : brokenInRing / filled);

  const judge = (): void => {
    if (!broken && filled === options.window && share() >= options.raiseShare) {
      broken = true;
      brokenEpisodes++;
      log.warn('camera output is broken: nearly every frame is cut off or not a JPEG image; check camera.rpicam.extraArgs (the stream must be MJPEG), the ribbon cable and the power supply', {
        brokenShare: Number(share().toFixed(2)), window: options.window, brokenFrames,
      });
    } else if (broken && share() <= options.clearShare) {
      broken = false;
      log.info('camera output is usable again', { brokenShare: Number(share().toFixed(2)), window: options.window });
    }
  };

  const record = (isBroken: boolean): void => {
    if (filled === options.window && ring[next]) brokenInRing--;
    ring[next] = isBroken;
    next = (next + 1) % options.window;
    filled = Math.min(filled + 1, options.window);
    if (isBroken) {
      brokenInRing++;
      brokenFrames++;
    }
    judge();
  };

  return {
    good: () => record(false),
    undecodable: () => record(true),
    fromSplitter(s) {
      for (const key of BROKEN_COUNTERS) {
        for (let n = s[key] - seen[key]; n > 0; n--) record(true);
        seen[key] = s[key];
      }
      strayCarry += s.strayBytes - seen.strayBytes;
      seen.strayBytes = s.strayBytes;
      for (; strayCarry >= options.strayBytesPerFrame; strayCarry -= options.strayBytesPerFrame) record(true);
    },
    stats: () => ({ broken, brokenShare: share(), brokenFrames, brokenEpisodes }),
  };
}
