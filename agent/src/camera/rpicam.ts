// The Raspberry Pi camera: `rpicam-vid --codec mjpeg -t 0 -o -` streams JPEG
// frames to stdout until killed; we split them at JPEG markers as they come.
//
// Why spawn and not node-libcamera: its vid()/still() build a command line and
// run it through child_process.exec, whose promise resolves with the whole
// stdout only when the command ends. `-t 0` never ends, and exec buffers the
// output (up to maxBuffer, then kills it), so it cannot stream frames. We keep
// the rpicam/libcamera flag names (width, height, framerate, codec, timeout)
// that its option objects use, so extraArgs read the same.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from '@frameline/shared';
import { createLatestQueue } from './frame-queue.js';
import { createFrameHealth, DEFAULT_FRAME_HEALTH, type FrameHealthOptions } from './frame-health.js';
import { createJpegSplitter } from './jpeg-splitter.js';
import { jpegSize } from './jpeg-size.js';
import { findOnPath, terminate } from './process.js';
import { createRestartPolicy, DEFAULT_RESTART_POLICY, type RestartPolicyOptions } from './restart-policy.js';
import { CameraUnavailableError, createCaptureClock, emptyCameraStats, withQueueAndParser, type CameraSource, type CapturedFrame } from './source.js';
import { logLines } from './stderr-log.js';

/** Tried in order on PATH: the current name, then the one older Raspberry Pi OS releases ship. */
export const CAMERA_BINARIES = ['rpicam-vid', 'libcamera-vid'] as const;

export interface RpicamOptions {
  width: number;
  height: number;
  framerate: number;
  /**
   * More rpicam-vid flags, passed as given, e.g. ['--rotation', '180',
   * '--quality', '80', '--flush'] (`--flush` writes each frame out at once,
   * saving a frame of latency on some versions).
   */
  extraArgs?: string[];
  /** Binary name or path; default: the first of CAMERA_BINARIES found on PATH. */
  binary?: string;
  /** A frame with no end marker within this many bytes is discarded. Default 8 MiB. */
  maxFrameBytes?: number;
  /** Newest frames kept for a slow consumer; older ones are dropped and counted. Default 3. */
  queueFrames?: number;
  /** No frame for this long: report a stall and restart the process. Default 10. */
  stallSeconds?: number;
  restart?: Partial<RestartPolicyOptions>;
  /** When the camera counts as broken (share of broken frames in a window); defaults in frame-health.ts. */
  health?: Partial<FrameHealthOptions>;
  /** Environment of the camera process and of the PATH lookup. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** SIGTERM, then SIGKILL after this long. Default 2000. */
  killGraceMs?: number;
}

export function rpicamArgs(options: Pick<RpicamOptions, 'width' | 'height' | 'framerate' | 'extraArgs'>): string[] {
  return [
    '--codec', 'mjpeg',
    '--width', String(options.width),
    '--height', String(options.height),
    '--framerate', String(options.framerate),
    '-t', '0', // run until killed
    '-n', // no preview window
    ...(options.extraArgs ?? []),
    '-o', '-', // stdout
  ];
}

/** The camera binary to run, or a CameraUnavailableError that says what to install. */
export function resolveCameraBinary(binary: string | undefined, env: NodeJS.ProcessEnv): string {
  const names = binary ? [binary] : [...CAMERA_BINARIES];
  for (const name of names) {
    const found = findOnPath(name, env);
    if (found) return found;
  }
  throw new CameraUnavailableError(
    binary
      ? `camera binary "${binary}" is not an executable on PATH`
      : `neither ${CAMERA_BINARIES.join(' nor ')} is on PATH; install them with "sudo apt install rpicam-apps" (Raspberry Pi OS)`,
  );
}

export function createRpicamSource(options: RpicamOptions, logger: Logger): CameraSource {
  const env = options.env ?? process.env;
  const stallMs = (options.stallSeconds ?? 10) * 1000;
  const killGraceMs = options.killGraceMs ?? 2000;
  const args = rpicamArgs(options);
  const log = logger.child('rpicam');
  const queue = createLatestQueue<CapturedFrame>(options.queueFrames ?? 3);
  const splitter = createJpegSplitter({ maxFrameBytes: options.maxFrameBytes ?? 8 * 1024 * 1024 });
  const restartOptions = { ...DEFAULT_RESTART_POLICY, ...options.restart };
  const policy = createRestartPolicy(restartOptions);
  const captureClock = createCaptureClock();
  const stats = emptyCameraStats();
  const health = createFrameHealth({ ...DEFAULT_FRAME_HEALTH, ...options.health }, log);
  const monotonic = (): number => performance.now();

  let state: 'new' | 'running' | 'stopped' = 'new';
  let child: ChildProcess | undefined;
  let childStartedAt = 0;
  let childFrames = 0;
  let childKilledForStall = false;
  let startedAt = 0;
  let lastFrameMono: number | undefined;
  let restartTimer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;

  const onJpeg = (jpeg: Buffer): void => {
    const size = jpegSize(jpeg);
    if (!size) {
      // Markers in order but no frame header: a decoder would refuse it downstream.
      stats.undecodableFrames++;
      health.undecodable();
      return;
    }
    health.good();
    const capturedAt = captureClock();
    lastFrameMono = monotonic();
    if (childFrames++ === 0) policy.healthy();
    if (stats.stalled) {
      stats.stalled = false;
      log.info('camera delivers frames again', { frames: stats.frames });
    }
    stats.frames++;
    stats.bytes += jpeg.length;
    stats.lastFrameAt = capturedAt;
    queue.push({ jpeg, capturedAt, ...size });
  };

  const spawnCamera = (): void => {
    let binary: string;
    try {
      binary = resolveCameraBinary(options.binary, env);
    } catch (err) {
      log.error((err as Error).message);
      return scheduleRestart();
    }
    log.info('starting camera', { binary, args: args.join(' ') });
    const proc = spawn(binary, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    childStartedAt = monotonic();
    childFrames = 0;
    childKilledForStall = false;
    splitter.reset(); // a frame cut off by the previous process is not glued to this one's
    health.fromSplitter(splitter.stats());
    proc.stdout.on('data', (chunk: Buffer) => {
      for (const jpeg of splitter.push(chunk)) onJpeg(jpeg);
      health.fromSplitter(splitter.stats());
    });
    logLines(proc.stderr, log, { pid: proc.pid }, { quiet: () => state === 'stopped' });
    let ended = false;
    const onEnd = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
      if (ended) return;
      ended = true;
      if (child === proc) child = undefined;
      if (state !== 'running') return;
      const fields = { binary, code, signal, frames: childFrames, error: error?.message };
      if (childKilledForStall) log.warn('stuck camera process stopped', fields);
      else log.warn('camera process ended', fields);
      scheduleRestart();
    };
    // 'close' comes after stdout is drained, so the last frames are in before a restart.
    proc.once('close', (code, signal) => onEnd(code, signal));
    proc.once('error', (err) => onEnd(null, null, err));
  };

  const scheduleRestart = (): void => {
    if (state !== 'running') return;
    const { delayMs, limited, attempt } = policy.next(monotonic());
    if (limited) {
      log.error('camera keeps failing: restart rate limit reached, waiting for the window', {
        delayMs,
        maxRestarts: restartOptions.maxRestarts,
        windowMs: restartOptions.windowMs,
      });
    } else {
      log.info('restarting camera after backoff', { delayMs, attempt });
    }
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (state !== 'running') return;
      stats.restarts++;
      spawnCamera();
    }, delayMs);
  };

  const checkStall = (): void => {
    const now = monotonic();
    const sinceFrame = now - (lastFrameMono ?? startedAt);
    if (sinceFrame > stallMs && !stats.stalled) {
      stats.stalled = true;
      stats.stalls++;
      log.warn('camera stalled: no frame', { seconds: Math.round(sinceFrame / 1000), stallSeconds: stallMs / 1000 });
    }
    // Kill only a process that itself had stallSeconds to deliver, once.
    const proc = child;
    if (proc && !childKilledForStall && now - Math.max(childStartedAt, lastFrameMono ?? 0) > stallMs) {
      childKilledForStall = true;
      void terminate(proc, killGraceMs);
    }
  };

  return {
    async start() {
      if (state !== 'new') throw new Error('a camera source can be started once; create a new one');
      resolveCameraBinary(options.binary, env); // fail fast with an actionable message
      state = 'running';
      startedAt = monotonic();
      spawnCamera();
      watchdog = setInterval(checkStall, Math.min(1000, Math.max(50, stallMs / 4)));
    },
    async stop() {
      if (state === 'stopped') return;
      state = 'stopped';
      clearInterval(watchdog);
      clearTimeout(restartTimer);
      if (child) await terminate(child, killGraceMs);
      queue.close();
    },
    frames: () => queue,
    stats: () => {
      const { broken, brokenShare, brokenFrames } = health.stats();
      return { ...withQueueAndParser(stats, queue.dropped, splitter.stats()), broken, brokenShare, brokenFrames };
    },
  };
}
