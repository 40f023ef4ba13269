// Replays a recording as if it were a camera: a video file (decoded to MJPEG
// by ffmpeg and split with the same parser as rpicam) or a folder of JPEGs,
// paced at the video's own frame rate or a configured one, looping at the
// end. Capture times come from the wall clock at replay, like a live camera.
import { execFile, spawn } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from '@frameline/shared';
import { createLatestQueue } from './frame-queue.js';
import { createJpegSplitter } from './jpeg-splitter.js';
import { jpegSize } from './jpeg-size.js';
import { createFramePacer, createPlayback, sleepUnlessAborted } from './pace.js';
import { terminate } from './process.js';
import { createRestartPolicy, DEFAULT_RESTART_POLICY, type RestartPolicyOptions } from './restart-policy.js';
import { CameraUnavailableError, createCaptureClock, emptyCameraStats, withQueueAndParser, type CameraSource, type CapturedFrame } from './source.js';
import { logLines } from './stderr-log.js';

export interface FileSourceOptions {
  /** A video file (anything ffmpeg reads) or a folder of .jpg/.jpeg files. */
  path: string;
  /**
   * Frames per second. A video is resampled to it by ffmpeg (it still plays
   * at real speed); a folder is shown at this rate. Default: the video's own
   * rate, 10 for a folder.
   */
  fps?: number;
  /** Start again at the end. Default true. */
  loop?: boolean;
  /** ffmpeg's JPEG quality, 2 (best) to 31. Default 5. */
  quality?: number;
  ffmpeg?: string;
  ffprobe?: string;
  maxFrameBytes?: number;
  /** Newest frames kept for a slow consumer. Default 3. */
  queueFrames?: number;
  /** Backoff when ffmpeg fails. */
  restart?: Partial<RestartPolicyOptions>;
}

const JPEG_FILE = /\.jpe?g$/i;
const DEFAULT_FOLDER_FPS = 10;

export function createFileSource(options: FileSourceOptions, logger: Logger): CameraSource {
  const log = logger.child('file', { path: options.path });
  const queue = createLatestQueue<CapturedFrame>(options.queueFrames ?? 3);
  const splitter = createJpegSplitter({ maxFrameBytes: options.maxFrameBytes ?? 8 * 1024 * 1024 });
  const policy = createRestartPolicy({ ...DEFAULT_RESTART_POLICY, ...options.restart });
  const captureClock = createCaptureClock();
  const stats = emptyCameraStats();
  const playback = createPlayback(queue);

  const play = async (frames: () => AsyncIterable<Buffer>, fps: number): Promise<void> => {
    const pacer = createFramePacer(fps);
    const signal = playback.signal;
    while (!signal.aborted) {
      let passFrames = 0;
      try {
        for await (const jpeg of frames()) {
          await pacer.wait(signal);
          const size = jpegSize(jpeg);
          if (!size) {
            log.warn('skipping a file that is not a JPEG with a frame header');
            continue;
          }
          passFrames++;
          const capturedAt = captureClock();
          stats.frames++;
          stats.bytes += jpeg.length;
          stats.lastFrameAt = capturedAt;
          queue.push({ jpeg, capturedAt, ...size });
        }
        if (passFrames === 0) throw new Error('no frames in this pass');
        policy.healthy();
        if (options.loop === false) break;
        log.debug('looping', { frames: passFrames });
      } catch (err) {
        if (signal.aborted) break;
        const { delayMs } = policy.next(performance.now());
        log.warn('replay failed, retrying', { error: err as Error, delayMs });
        if (!(await sleepUnlessAborted(delayMs, signal))) break;
        stats.restarts++;
      }
    }
    queue.close();
  };

  const videoFrames = (file: string) =>
    async function* (): AsyncGenerator<Buffer> {
      const args = ['-hide_banner', '-nostats', '-loglevel', 'warning', '-i', file, '-an'];
      if (options.fps) args.push('-vf', `fps=${options.fps}`);
      args.push('-f', 'mjpeg', '-q:v', String(options.quality ?? 5), '-');
      const proc = spawn(options.ffmpeg ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      const exited = new Promise<number | null>((resolve, reject) => {
        proc.once('error', reject);
        proc.once('close', (code) => resolve(code));
      });
      exited.catch(() => undefined); // observed below; avoid an unhandled rejection meanwhile
      logLines(proc.stderr, log, { pid: proc.pid }, { quiet: playback.stopped });
      splitter.reset();
      try {
        // for-await pulls only as fast as we pace, so the pipe fills and ffmpeg waits.
        for await (const chunk of proc.stdout) yield* splitter.push(chunk as Buffer);
        const code = await exited;
        if (code !== 0) throw new Error(`ffmpeg exited with code ${code}`);
      } finally {
        await terminate(proc, 2000);
      }
    };

  const folderFrames = (dir: string, files: string[]) =>
    async function* (): AsyncGenerator<Buffer> {
      for (const name of files) yield await readFile(path.join(dir, name));
    };

  const prepare = async (): Promise<{ frames: () => AsyncIterable<Buffer>; fps: number }> => {
    const info = await stat(options.path).catch(() => undefined);
    if (!info) throw new CameraUnavailableError(`replay file "${options.path}" does not exist`);
    if (info.isDirectory()) {
      const files = (await readdir(options.path)).filter((f) => JPEG_FILE.test(f));
      files.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
      if (files.length === 0) throw new CameraUnavailableError(`replay folder "${options.path}" has no .jpg files`);
      return { frames: folderFrames(options.path, files), fps: options.fps ?? DEFAULT_FOLDER_FPS };
    }
    const fps = options.fps ?? (await probeFps(options.path, options.ffprobe ?? 'ffprobe', log));
    return { frames: videoFrames(options.path), fps };
  };

  return {
    async start() {
      playback.claim();
      const { frames, fps } = await prepare();
      playback.running();
      log.info('replaying', { fps, loop: options.loop !== false });
      playback.playing(play(frames, fps));
    },
    stop: playback.stop,
    frames: () => queue,
    stats: () => withQueueAndParser(stats, queue.dropped, splitter.stats()),
  };
}

/** The video's frame rate from ffprobe; 10 with a warning when it cannot be read. */
export async function probeFps(file: string, ffprobe: string, log: Logger): Promise<number> {
  try {
    const { stdout } = await promisify(execFile)(ffprobe, [
      '-v', 'error', '-select_streams', 'v:0',
      '-show_entries', 'stream=avg_frame_rate,r_frame_rate', '-of', 'json', file,
    ]);
    const stream = (JSON.parse(stdout) as { streams?: { avg_frame_rate?: string; r_frame_rate?: string }[] }).streams?.[0];
    for (const rate of [stream?.avg_frame_rate, stream?.r_frame_rate]) {
      const [num, den] = (rate ?? '').split('/').map(Number);
      const fps = den ? num! / den : num;
      if (fps && Number.isFinite(fps) && fps > 0 && fps <= 240) return fps;
    }
    if (!stream) throw new CameraUnavailableError(`"${file}" has no video stream`);
  } catch (err) {
    if (err instanceof CameraUnavailableError) throw err;
    log.warn('could not read the frame rate with ffprobe; using 10 fps', { error: err as Error });
  }
  return 10;
}
