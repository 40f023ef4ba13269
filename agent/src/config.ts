// The agent's one configuration: convict schema (strict: unknown keys are
// errors), read once at start, mapped to the typed options of each stage.
import { isAbsolute, resolve } from 'node:path';
import type convict from 'convict';
import { CAMERA_ID_RULE, ConfigError, DEFAULT_MAX_FRAME_PIXELS, caFileProblem, cameraIdProblem, dirOf, loadConfig, type LoadOptions, type PartitioningMode, type Secret, type SecurityProtocol, type KafkaConnection } from '@frameline/shared';
import type { CameraSourceOptions } from './camera/index.js';
import type { PipelineOptions } from './pipeline/index.js';
import type { DeliveryOptions, FsyncPolicy } from './delivery/index.js';

export interface AgentConfig {
  camera: {
    id: string;
    source: 'rpicam' | 'file' | 'synthetic';
    width: number;
    height: number;
    fps: number;
    stallSeconds: number;
    rpicam: { binary: string; extraArgs: string[] };
    file: { path: string; fps: number; loop: boolean; quality: number };
    synthetic: { content: 'moving' | 'still'; quality: number; cycleFrames: number };
  };
  pipeline: {
    maxFps: number;
    maxFramePixels: number;
    motion: { enabled: boolean; threshold: number; keepAlive: number };
    resize: { enabled: boolean; maxWidth: number; maxHeight: number; quality: number };
  };
  kafka: {
    brokers: string[];
    clientId: string;
    security: SecurityProtocol;
    username: string;
    passwordFile: Secret | null;
    caFile: string;
    connectionTimeout: number;
  };
  topics: { frames: string; backfill: string; agents: string };
  partitioning: PartitioningMode;
  delivery: {
    mode: 'live' | 'reliable';
    backfill: 'inline' | 'separate';
    queue: { maxFrames: number; maxBytes: number };
    maxBatchBytes: number;
    sendTimeout: number;
    drainRate: { framesPerSec: number; bytesPerSec: number };
    spool: { maxBytes: number; maxAge: number; segmentBytes: number; fsync: FsyncPolicy; fsyncInterval: number };
  };
  stateDir: string;
  log: { level: 'error' | 'warn' | 'info' | 'debug' };
  metrics: { listen: string };
  status: { enabled: boolean; intervalSeconds: number; temperatureFile: string; throttledFile: string };
}

const bytes = (v: string) => v as unknown as number;
const ms = (v: string) => v as unknown as number;

function cameraId(v: unknown): void {
  if (typeof v !== 'string') throw new Error(`must be ${CAMERA_ID_RULE}`);
  const problem = cameraIdProblem(v);
  if (problem) throw new Error(problem);
}

function listenAddress(v: unknown): void {
  if (v === '') return;
  if (typeof v !== 'string' || !/^[\w.:[\]-]+:\d{1,5}$/.test(v)) throw new Error('must be "" (off) or host:port, like 127.0.0.1:9464');
}

function nonNegative(v: unknown): void {
  if (typeof v !== 'number' || !(v >= 0)) throw new Error('must be a number >= 0');
}

export const agentSchema: convict.Schema<AgentConfig> = {
  camera: {
    id: { doc: 'Camera id: the record key and fl-camera header.', format: cameraId, default: 'CAMERA-1', env: 'FRAMELINE_CAMERA_ID' },
    source: { doc: 'Where frames come from.', format: ['rpicam', 'file', 'synthetic'], default: 'rpicam', env: 'FRAMELINE_CAMERA_SOURCE' },
    width: { doc: 'Capture width in pixels.', format: 'nat', default: 1280 },
    height: { doc: 'Capture height in pixels.', format: 'nat', default: 720 },
    fps: { doc: 'Capture frame rate.', format: 'positive-number', default: 15 },
    stallSeconds: { doc: 'No frame for this long: report a stall and restart the camera.', format: 'positive-number', default: 10 },
    rpicam: {
      binary: { doc: 'Camera binary; "" finds rpicam-vid, then libcamera-vid, on PATH.', format: String, default: '' },
      extraArgs: { doc: 'Extra rpicam-vid flags, e.g. ["--rotation","180"].', format: Array, default: [] },
    },
    file: {
      path: { doc: 'Video file or folder of JPEGs to replay (source "file").', format: String, default: '', env: 'FRAMELINE_CAMERA_FILE' },
      fps: { doc: 'Replay rate; 0 = the video\'s own rate.', format: nonNegative, default: 0 },
      loop: { doc: 'Start again at the end.', format: Boolean, default: true },
      quality: { doc: 'ffmpeg JPEG quality, 2 (best) to 31.', format: 'nat', default: 5 },
    },
    synthetic: {
      content: { doc: 'Generated frames: "moving" or "still".', format: ['moving', 'still'], default: 'moving' },
      quality: { doc: 'JPEG quality 1..100.', format: 'nat', default: 80 },
      cycleFrames: { doc: 'Pre-render this many frames and cycle them (0: render each).', format: 'nat', default: 30 },
    },
  },
  pipeline: {
    maxFps: { doc: 'Drop frames above this rate; 0 = no cap.', format: nonNegative, default: 0 },
    maxFramePixels: { doc: 'Frames with more pixels (read from the JPEG header) are dropped, counted, before the motion gate or resize decodes them.', format: 'nat', default: DEFAULT_MAX_FRAME_PIXELS },
    motion: {
      enabled: { doc: 'Only send frames that differ from the last sent one.', format: Boolean, default: false },
      threshold: { doc: 'Mean absolute difference (0..1) that counts as motion.', format: nonNegative, default: 0.01 },
      keepAlive: { doc: 'Send a frame at least this often, motion or not.', format: 'duration', default: ms('10s') },
    },
    resize: {
      enabled: { doc: 'Downscale/re-encode frames larger than maxWidth x maxHeight.', format: Boolean, default: false },
      maxWidth: { doc: 'Largest width sent.', format: 'nat', default: 1280 },
      maxHeight: { doc: 'Largest height sent.', format: 'nat', default: 720 },
      quality: { doc: 'JPEG quality of re-encoded frames.', format: 'nat', default: 80 },
    },
  },
  kafka: {
    brokers: { doc: 'Bootstrap addresses of the EXTERNAL listener.', format: 'bootstrap-list', default: ['localhost:9092'], env: 'FRAMELINE_KAFKA_BROKERS' },
    clientId: { doc: 'Kafka client id (shows in broker logs and quotas).', format: String, default: 'frameline-agent' },
    security: { doc: 'sasl_ssl (EXTERNAL listener), sasl_plaintext or plaintext.', format: ['sasl_ssl', 'sasl_plaintext', 'plaintext'], default: 'sasl_ssl' },
    username: { doc: 'SCRAM-SHA-512 user.', format: String, default: 'agent' },
    passwordFile: {
      doc: 'File holding the SCRAM password, or "credential:NAME" for systemd LoadCredential=.',
      format: 'secret-file', default: null, sensitive: true, env: 'FRAMELINE_KAFKA_PASSWORD_FILE',
    },
    caFile: { doc: 'PEM CA bundle that signed the broker certificate; "" = system CAs.', format: String, default: '', env: 'FRAMELINE_KAFKA_CA_FILE' },
    connectionTimeout: { doc: 'TCP + TLS connect timeout.', format: 'duration', default: ms('10s') },
  },
  topics: {
    frames: { doc: 'Topic for live frames.', format: String, default: 'video.frames' },
    backfill: { doc: 'Topic for spooled frames with backfill "separate".', format: String, default: 'video.frames.backfill' },
    agents: { doc: 'Compacted topic for this agent\'s status records (status.enabled).', format: String, default: 'video.agents' },
  },
  partitioning: { doc: '"key": murmur2 of the camera id; "camera-index": camera N on partition N-1.', format: ['key', 'camera-index'], default: 'key' },
  delivery: {
    mode: { doc: '"reliable": acks=all + disk spool; "live": acks=1, drop oldest when behind.', format: ['reliable', 'live'], default: 'reliable', env: 'FRAMELINE_DELIVERY_MODE' },
    backfill: { doc: 'After an outage: "inline" drains the spool before live frames; "separate" sends it to the backfill topic.', format: ['inline', 'separate'], default: 'inline' },
    queue: {
      maxFrames: { doc: 'In-memory queue bound in frames.', format: 'nat', default: 30 },
      maxBytes: { doc: 'In-memory queue bound in bytes.', format: 'byte-size', default: bytes('16MiB') },
    },
    maxBatchBytes: { doc: 'Per request and partition; keep below the topic max.message.bytes.', format: 'byte-size', default: bytes('1MiB') },
    sendTimeout: { doc: 'A send not acknowledged by then fails (and spools or drops).', format: 'duration', default: ms('5s') },
    drainRate: {
      framesPerSec: { doc: 'Backfill "separate": spool drain rate in frames/s; 0 = unlimited.', format: nonNegative, default: 0 },
      bytesPerSec: { doc: 'Backfill "separate": spool drain rate in bytes/s; 0 = unlimited.', format: 'byte-size', default: 0 },
    },
    spool: {
      maxBytes: { doc: 'Spool size limit; the oldest segments are evicted (and counted) beyond it.', format: 'byte-size', default: bytes('1GiB') },
      maxAge: { doc: 'Spooled frames older than this are evicted; 0 = no age limit.', format: 'duration', default: ms('24h') },
      segmentBytes: { doc: 'Spool segment file size.', format: 'byte-size', default: bytes('16MiB') },
      fsync: { doc: '"always" (each frame), "interval" or "never".', format: ['always', 'interval', 'never'], default: 'interval' },
      fsyncInterval: { doc: 'fsync period for "interval".', format: 'duration', default: ms('1s') },
    },
  },
  stateDir: { doc: 'Spool and state; systemd StateDirectory= sets $STATE_DIRECTORY.', format: String, default: '/var/lib/frameline-agent', env: 'STATE_DIRECTORY' },
  log: { level: { doc: 'error, warn, info or debug.', format: ['error', 'warn', 'info', 'debug'], default: 'info', env: 'FRAMELINE_LOG_LEVEL' } },
  metrics: { listen: { doc: 'Prometheus /metrics address, e.g. 127.0.0.1:9464; "" = off.', format: listenAddress, default: '' } },
  status: {
    enabled: { doc: 'Publish this agent\'s status (fleet health) to topics.agents.', format: Boolean, default: true },
    intervalSeconds: { doc: 'Status record period; state changes are sent at once as well.', format: 'positive-number', default: 10 },
    temperatureFile: { doc: 'SoC temperature in millidegrees C; left out of the status when absent.', format: String, default: '/sys/class/thermal/thermal_zone0/temp' },
    throttledFile: { doc: 'Raspberry Pi firmware throttled bits (hex); left out of the status when absent.', format: String, default: '/sys/devices/platform/soc/soc:firmware/get_throttled' },
  },
};

/** Loads and validates; throws ConfigError (exit 78 in the CLI) naming key, value and file. */
export function loadAgentConfig(options: LoadOptions): AgentConfig {
  const config = loadConfig(agentSchema, options);
  // Paths in a config file are relative to that file, like the secret files.
  const base = dirOf(options.file);
  if (base) {
    const abs = (p: string) => (p && !isAbsolute(p) ? resolve(base, p) : p);
    config.kafka.caFile = abs(config.kafka.caFile);
    config.stateDir = abs(config.stateDir);
    config.camera.file.path = abs(config.camera.file.path);
    config.status.temperatureFile = abs(config.status.temperatureFile);
    config.status.throttledFile = abs(config.status.throttledFile);
  }
  const issues = crossCheck(config);
  if (issues.length > 0) throw new ConfigError(options.file ?? 'environment and defaults', issues);
  return config;
}

// ------------------------------------------------------- typed stage options

export function kafkaConnection(c: AgentConfig): KafkaConnection {
  return {
    brokers: c.kafka.brokers,
    clientId: `${c.kafka.clientId}-${c.camera.id}`,
    security: c.kafka.security,
    username: c.kafka.username,
    password: c.kafka.passwordFile,
    ...(c.kafka.caFile ? { caFile: c.kafka.caFile } : {}),
    connectionTimeoutMs: c.kafka.connectionTimeout,
  };
}

export function cameraOptions(c: AgentConfig, env: NodeJS.ProcessEnv = process.env): CameraSourceOptions {
  const { width, height, fps } = c.camera;
  switch (c.camera.source) {
    case 'rpicam':
      return {
        kind: 'rpicam', width, height, framerate: fps, stallSeconds: c.camera.stallSeconds, env,
        extraArgs: c.camera.rpicam.extraArgs.map(String),
        ...(c.camera.rpicam.binary ? { binary: c.camera.rpicam.binary } : {}),
      };
    case 'file':
      return {
        kind: 'file', path: c.camera.file.path, loop: c.camera.file.loop, quality: c.camera.file.quality,
        ...(c.camera.file.fps > 0 ? { fps: c.camera.file.fps } : {}),
      };
    case 'synthetic':
      return { kind: 'synthetic', width, height, fps, content: c.camera.synthetic.content, quality: c.camera.synthetic.quality, cycleFrames: c.camera.synthetic.cycleFrames };
  }
}

export function pipelineOptions(c: AgentConfig): PipelineOptions {
  const p = c.pipeline;
  return {
    ...(p.maxFps > 0 ? { maxFps: p.maxFps } : {}),
    maxPixels: p.maxFramePixels,
    ...(p.motion.enabled ? { motion: { threshold: p.motion.threshold, keepAliveSeconds: p.motion.keepAlive / 1000 } } : {}),
    ...(p.resize.enabled ? { resize: { maxWidth: p.resize.maxWidth, maxHeight: p.resize.maxHeight, quality: p.resize.quality } } : {}),
  };
}

export function spoolDir(c: AgentConfig): string {
  return `${c.stateDir.replace(/\/$/, '')}/spool/${c.camera.id}`;
}

export function deliveryOptions(c: AgentConfig): DeliveryOptions {
  const d = c.delivery;
  const drainRate: { framesPerSec?: number; bytesPerSec?: number } = {};
  if (d.drainRate.framesPerSec > 0) drainRate.framesPerSec = d.drainRate.framesPerSec;
  if (d.drainRate.bytesPerSec > 0) drainRate.bytesPerSec = d.drainRate.bytesPerSec;
  return {
    mode: d.mode,
    backfill: d.backfill,
    topics: c.topics,
    partitioning: c.partitioning,
    kafka: kafkaConnection(c),
    queue: d.queue,
    maxBatchBytes: d.maxBatchBytes,
    sendTimeoutMs: d.sendTimeout,
    drainRate,
    spool: {
      dir: spoolDir(c),
      maxBytes: d.spool.maxBytes,
      maxAgeMs: d.spool.maxAge,
      segmentBytes: d.spool.segmentBytes,
      fsync: d.spool.fsync,
      fsyncIntervalMs: d.spool.fsyncInterval,
    },
  };
}

/**
 * Files the agent needs at run time besides its secrets (the CA bundle), for
 * `run` and `check-config`: throws ConfigError (exit 78) naming the key.
 * Not part of loading, so a config can be examined on a machine without them.
 */
export function checkFiles(c: AgentConfig, source: string): void {
  const caProblem = c.kafka.caFile ? caFileProblem(c.kafka.caFile) : undefined;
  if (caProblem) throw new ConfigError(source, [{ key: 'kafka.caFile', message: caProblem }]);
}

/** Checks that need more than one key; convict validates keys one by one. */
function crossCheck(c: AgentConfig): { key: string; message: string }[] {
  const issues: { key: string; message: string }[] = [];
  if (c.camera.source === 'file' && !c.camera.file.path) issues.push({ key: 'camera.file.path', message: 'is required when camera.source is "file"' });
  if (c.kafka.security !== 'plaintext' && !c.kafka.passwordFile) {
    issues.push({ key: 'kafka.passwordFile', message: `is required with kafka.security "${c.kafka.security}" (a file holding the SCRAM password)` });
  }
  if (c.camera.width * c.camera.height > c.pipeline.maxFramePixels) {
    issues.push({ key: 'pipeline.maxFramePixels', message: `is ${c.pipeline.maxFramePixels}, below the camera's own ${c.camera.width}×${c.camera.height}: raise it` });
  }
  if (c.partitioning === 'camera-index' && !/\d+$/.test(c.camera.id)) {
    issues.push({ key: 'partitioning', message: `"camera-index" needs camera.id to end in a number, got "${c.camera.id}"` });
  }
  return issues;
}
