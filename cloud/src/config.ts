// The cloud service's configuration: one convict schema, read and validated
// once at start (strict: unknown keys are errors naming the key and the file).
// Every key has an env var FRAMELINE_CLOUD_<PATH>; secrets come from files.
import convict from 'convict';
import { ConfigError, DEFAULT_MAX_FRAME_PIXELS, caFileProblem, cameraIdProblem, splitHostPort, TOPICS, loadConfig, type LoadOptions, type Secret, type SecurityProtocol, type CameraFrom } from '@frameline/shared';
import { analysisSchema, checkAnalysis, type AlertsConfig, type AnalysisConfig } from './analysis-config.js';

export type ModelKind = 'blazepose' | 'onnx-keypoints';

/** Serialisable model options: each inference worker builds its own model from these. */
export interface ModelOptions {
  kind: ModelKind;
  variant: 'lite' | 'full' | 'heavy';
  path: string;
  detector: 'single' | 'multi' | 'objects';
  minDetectionScore: number;
  minKeypointScore: number;
  maxPersons: number;
  threads: number;
  provider: 'cpu' | 'cuda';
  detectEvery: number;
  detectInterval: number;
  sweepEvery: number;
  minTrackPresence: number;
  /** onnx-keypoints only: the model's input and output description (see config/cloud.example.json). */
  input: Record<string, unknown>;
  decode: Record<string, unknown>;
}

export interface CloudConfig {
  kafka: {
    brokers: string[];
    security: SecurityProtocol;
    username: string;
    passwordFile: Secret | null;
    caFile: string;
    clientId: string;
    groupId: string;
    sessionTimeout: number;
    maxFetchBytes: number;
  };
  topics: { frames: string; backfill: string; inferences: string; alerts: string; dlq: string; agents: string };
  ingest: {
    cameraFrom: CameraFrom;
    cameraPrefix: string;
    windowSize: number;
    maxFrameBytes: number;
    maxFramePixels: number;
    maxCameras: number;
    backfill: boolean;
    backfillQueue: number;
    dlq: boolean;
    commitInterval: number;
  };
  scheduler: { maxLagMs: number; maxBatch: number; workers: number };
  model: ModelOptions;
  http: { listen: string; tokenFile: Secret | null };
  health: { stallAfter: number };
  log: { level: 'error' | 'warn' | 'info' | 'debug' };
  analysis: AnalysisConfig;
  alerts: AlertsConfig;
  fleet: FleetConfig;
}

export interface FleetConfig {
  enabled: boolean;
  /** ms without a status before an agent counts as offline. */
  offlineAfter: number;
  /** ms: an agent whose oldest spooled frame is older than this is spooling (alert). */
  spoolingAfter: number;
  /** ms without a status after which an agent leaves the fleet view (a retired Pi). */
  forgetAfter: number;
  maxAgents: number;
  /** ms between checks for offline agents. */
  checkInterval: number;
}

const env = (path: string) => `FRAMELINE_CLOUD_${path.replace(/([a-z])([A-Z])/g, '$1_$2').replace(/\./g, '_').toUpperCase()}`;

function key<T>(path: string, doc: string, format: unknown, def: T, extra: Record<string, unknown> = {}) {
  return { doc, format, default: def, env: env(path), ...extra };
}

const listen = {
  name: 'listen',
  validate: (v: unknown) => {
    if (typeof v !== 'string' || !/^(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(v)) throw new Error('must be "host:port", e.g. "127.0.0.1:8080"');
  },
};

export const cloudSchema = {
  kafka: {
    brokers: key('kafka.brokers', 'Bootstrap addresses of the INTERNAL listener (host:port, comma separated).', 'bootstrap-list', ['127.0.0.1:19092']),
    security: key('kafka.security', 'plaintext | sasl_plaintext (INTERNAL listener) | sasl_ssl.', ['plaintext', 'sasl_plaintext', 'sasl_ssl'], 'sasl_plaintext'),
    username: key('kafka.username', 'SASL SCRAM-SHA-512 user.', String, 'cloud'),
    passwordFile: key('kafka.passwordFile', 'File holding the SASL password, or "credential:NAME" (systemd LoadCredential=).', 'secret-file', null as string | null, { sensitive: true }),
    caFile: key('kafka.caFile', 'PEM CA bundle for sasl_ssl; empty: system CAs.', String, ''),
    clientId: key('kafka.clientId', 'Kafka client id.', String, 'frameline-cloud'),
    groupId: key('kafka.groupId', 'Consumer group; the ACLs allow groups prefixed "frameline-".', String, 'frameline-cloud'),
    sessionTimeout: key('kafka.sessionTimeout', 'Consumer group session timeout: how soon a dead instance\'s partitions move.', 'duration', 30_000),
    maxFetchBytes: key('kafka.maxFetchBytes', 'Largest fetch per partition; must exceed the broker\'s max.message.bytes so oversized garbage reaches the DLQ.', 'byte-size', 34 * 1024 * 1024),
  },
  topics: {
    frames: key('topics.frames', 'Live frames topic.', String, TOPICS.frames),
    backfill: key('topics.backfill', 'Frames spooled by agents during an outage (processed late, at low priority).', String, TOPICS.backfill),
    inferences: key('topics.inferences', 'Results topic (JSON, keyed by camera).', String, TOPICS.inferences),
    alerts: key('topics.alerts', 'Alerts topic (JSON, keyed by camera; see cloud/src/publish/ALERTS.md).', String, TOPICS.alerts),
    dlq: key('topics.dlq', 'Dead-letter topic for records that are not valid frames.', String, TOPICS.dlq),
    agents: key('topics.agents', 'The agents\' compacted status topic (shared/src/record/agent-status.ts), read for the fleet view, gauges and alerts.', String, TOPICS.agents),
  },
  ingest: {
    cameraFrom: key('ingest.cameraFrom', 'headers (our agent) | key (record key is the camera) | partition (partition N is camera N+1).', ['headers', 'key', 'partition'], 'headers' as CameraFrom),
    cameraPrefix: key('ingest.cameraPrefix', 'Camera id prefix for cameraFrom "partition".', String, 'CAMERA-'),
    windowSize: key('ingest.windowSize', 'Frames kept per camera in its ordered window.', 'nat', 30),
    maxFrameBytes: key('ingest.maxFrameBytes', 'Largest accepted JPEG; larger records go to the DLQ.', 'byte-size', 8 * 1024 * 1024),
    maxFramePixels: key('ingest.maxFramePixels', 'Largest width × height decoded, read from the JPEG header first; larger frames go to the DLQ (too-many-pixels). Default 4096×4096: every Raspberry Pi camera mode fits.', 'nat', DEFAULT_MAX_FRAME_PIXELS),
    maxCameras: key('ingest.maxCameras', 'Most distinct cameras one instance tracks since it started (windows, clocks, metric labels); records of further cameras go to the DLQ (too-many-cameras).', 'nat', 1000),
    backfill: key('ingest.backfill', 'Consume the backfill topic.', Boolean, true),
    backfillQueue: key('ingest.backfillQueue', 'Backfill frames held in memory before the backfill topic is paused.', 'nat', 16),
    dlq: key('ingest.dlq', 'Send invalid records to the DLQ (false: log and skip them).', Boolean, true),
    commitInterval: key('ingest.commitInterval', 'How often finished offsets are committed.', 'duration', 1000),
  },
  scheduler: {
    maxLagMs: key('scheduler.maxLagMs', 'Frames older than this (capture to inference start) are skipped, never inferred.', 'duration', 1000),
    maxBatch: key('scheduler.maxBatch', 'Most frames (of different cameras) in one model run, when the model is batchable.', 'nat', 4),
    workers: key('scheduler.workers', 'Inference worker threads; 0: one per core.', 'nat', 0),
  },
  model: {
    kind: key('model.kind', 'blazepose | onnx-keypoints.', ['blazepose', 'onnx-keypoints'], 'blazepose' as ModelKind),
    variant: key('model.variant', 'BlazePose landmark variant: lite | full | heavy.', ['lite', 'full', 'heavy'], 'full'),
    path: key('model.path', 'ONNX file for onnx-keypoints (or a converted-model directory); empty: the built-in default.', String, ''),
    detector: key('model.detector', 'multi (top-down for security cameras: tiled BlazePose person detector, then landmarks per person) | objects (CenterNet COCO person boxes instead: faster, finds smaller people; weights without an upstream license, see cloud/models/README.md) | single (one person filling the frame).', ['single', 'multi', 'objects'], 'multi'),
    minDetectionScore: key('model.minDetectionScore', 'Person detection threshold, 0..1.', Number, 0.5),
    minKeypointScore: key('model.minKeypointScore', 'Keypoint visibility threshold, 0..1.', Number, 0.3),
    maxPersons: key('model.maxPersons', 'Most persons per frame (multi detector).', 'nat', 8),
    threads: key('model.threads', 'onnxruntime intra-op threads per worker.', 'nat', 1),
    provider: key('model.provider', 'onnxruntime execution provider: cpu | cuda.', ['cpu', 'cuda'], 'cpu'),
    detectEvery: key('model.detectEvery', 'blazepose: run the person detector on every Nth inferred frame of a camera, and track persons by their previous landmarks in between (MediaPipe\'s pose tracking); 1: detector on every frame.', 'nat', 20),
    detectInterval: key('model.detectInterval', 'blazepose: run the person detector at least this often per camera (capture time), so people who enter are found.', 'duration', 4000),
    sweepEvery: key('model.sweepEvery', 'blazepose: between full detector runs, run it on one frame-edge region (where people enter) every Nth tracked frame; 0: never.', 'nat', 1),
    minTrackPresence: key('model.minTrackPresence', 'blazepose: drop a tracked person whose landmark presence, averaged over its frames, falls below this (0..1), so a false detection is not carried.', Number, 0.8),
    input: key('model.input', 'onnx-keypoints only: { width, height, layout: NHWC|NCHW, normalisation: { scale, offset }, resize: letterbox|stretch }.', Object, {}),
    decode: key('model.decode', 'onnx-keypoints only: { kind: "movenet-singlepose", output?, keypointNames?, minScore? }.', Object, {}),
  },
  http: {
    listen: key('http.listen', 'Address of the dashboard, /metrics and /healthz (localhost unless you mean it).', listen.name, '127.0.0.1:8080'),
    tokenFile: key('http.tokenFile', 'File holding the dashboard access token, or "credential:NAME"; required when http.listen is not a loopback address.', 'secret-file', null as string | null, { sensitive: true }),
  },
  health: {
    stallAfter: key('health.stallAfter', '/healthz fails when consuming or inference makes no progress this long while work is pending.', 'duration', 30_000),
  },
  log: {
    level: key('log.level', 'error | warn | info | debug.', ['error', 'warn', 'info', 'debug'], 'info'),
  },
  ...analysisSchema(key),
  fleet: {
    enabled: key('fleet.enabled', 'Read topics.agents: fleet view, frameline_fleet_* gauges, agent-offline/-spooling/-throttled alerts.', Boolean, true),
    offlineAfter: key('fleet.offlineAfter', 'An agent without a status this long is offline (alert agent-offline); several status periods (agent status.intervalSeconds, 10 s).', 'duration', 60_000),
    spoolingAfter: key('fleet.spoolingAfter', 'An agent whose oldest spooled frame is older than this is spooling (alert agent-spooling).', 'duration', 60_000),
    forgetAfter: key('fleet.forgetAfter', 'An agent without a status this long leaves the fleet view and gauges (a retired Pi; a tombstone on topics.agents removes it at once).', 'duration', 7 * 86_400_000),
    maxAgents: key('fleet.maxAgents', 'Most agents tracked (gauge label sets); statuses of further agents are counted and dropped.', 'nat', 1000),
    checkInterval: key('fleet.checkInterval', 'How often agents are checked for the offline and other conditions.', 'duration', 1000),
  },
};

let listenRegistered = false;

function registerCloudFormats(): void {
  if (listenRegistered) return;
  listenRegistered = true;
  convict.addFormat(listen);
}

/** Loads and validates the config; throws shared's ConfigError naming the key and the file. */
export function loadCloudConfig(options: LoadOptions = {}): CloudConfig {
  registerCloudFormats();
  const config = loadConfig(cloudSchema as unknown as convict.Schema<CloudConfig>, options);
  checkRanges(config, options.file ?? 'environment and defaults');
  return config;
}

function checkRanges(c: CloudConfig, source: string): void {
  const issues: { key: string; message: string }[] = [];
  const unit = (k: string, v: number) => { if (!(v >= 0 && v <= 1)) issues.push({ key: k, message: `must be between 0 and 1, got ${v}` }); };
  unit('model.minDetectionScore', c.model.minDetectionScore);
  unit('model.minKeypointScore', c.model.minKeypointScore);
  unit('model.minTrackPresence', c.model.minTrackPresence);
  if (c.scheduler.maxBatch < 1) issues.push({ key: 'scheduler.maxBatch', message: 'must be at least 1' });
  if (c.scheduler.maxLagMs < 1) issues.push({ key: 'scheduler.maxLagMs', message: 'must be at least 1ms' });
  if (c.ingest.windowSize < 1) issues.push({ key: 'ingest.windowSize', message: 'must be at least 1' });
  const prefixProblem = c.ingest.cameraFrom === 'partition' ? cameraIdProblem(`${c.ingest.cameraPrefix}1`) : undefined;
  if (prefixProblem) issues.push({ key: 'ingest.cameraPrefix', message: `makes camera ids like "${c.ingest.cameraPrefix}1": ${prefixProblem}` });
  if (c.ingest.maxCameras < 1) issues.push({ key: 'ingest.maxCameras', message: 'must be at least 1' });
  if (c.ingest.maxFramePixels < 1) issues.push({ key: 'ingest.maxFramePixels', message: 'must be at least 1' });
  if (c.ingest.backfillQueue < 1) issues.push({ key: 'ingest.backfillQueue', message: 'must be at least 1' });
  if (c.kafka.security !== 'plaintext' && !c.kafka.passwordFile) issues.push({ key: 'kafka.passwordFile', message: `security "${c.kafka.security}" needs a password file` });
  const caProblem = c.kafka.caFile ? caFileProblem(c.kafka.caFile) : undefined;
  if (caProblem) issues.push({ key: 'kafka.caFile', message: caProblem });
  if (c.kafka.maxFetchBytes <= c.ingest.maxFrameBytes) issues.push({ key: 'kafka.maxFetchBytes', message: 'must be larger than ingest.maxFrameBytes' });
  const { host } = splitHostPort(c.http.listen);
  if (!c.http.tokenFile && !isLoopback(host)) {
    issues.push({ key: 'http.tokenFile', message: `http.listen "${c.http.listen}" is reachable from other hosts, so the dashboard needs an access token: put one in a file (e.g. openssl rand -hex 32 > dashboard.token; chmod 600) and set http.tokenFile, or listen on 127.0.0.1` });
  }
  issues.push(...checkAnalysis(c.analysis, c.alerts));
  if (c.fleet.maxAgents < 1) issues.push({ key: 'fleet.maxAgents', message: 'must be at least 1' });
  if (c.fleet.offlineAfter < 1000) issues.push({ key: 'fleet.offlineAfter', message: 'must be at least 1s' });
  if (c.fleet.forgetAfter <= c.fleet.offlineAfter) issues.push({ key: 'fleet.forgetAfter', message: 'must be longer than fleet.offlineAfter' });
  if (c.fleet.checkInterval < 100) issues.push({ key: 'fleet.checkInterval', message: 'must be at least 100ms' });
  if (issues.length > 0) throw new ConfigError(source, issues);
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
