// The frame record: the contract between agent and cloud (DESIGN.md).
// One Kafka record per frame: key = camera id, value = JPEG bytes untouched,
// timestamp = capture time, and UTF-8 string headers any Kafka client can read.
import { partitionForKey } from './murmur2.js';
import { cameraIdProblem } from './camera-id.js';
import { DEFAULT_MAX_FRAME_PIXELS, pixelLimitProblem, readJpegLayout } from './jpeg.js';

const FRAME_SCHEMA = '1';
export const H = {
  contentType: 'content-type',
  schema: 'fl-schema',
  camera: 'fl-camera',
  run: 'fl-run',
  seq: 'fl-seq',
  capturedAt: 'fl-captured-at',
  width: 'fl-width',
  height: 'fl-height',
  motion: 'fl-motion',
  error: 'fl-error',
  /** Set by `frameline-agent doctor` on its write-permission probe; consumers skip such records. */
  probe: 'fl-probe',
} as const;

export interface Frame {
  camera: string;
  /** UUID per agent process start: a new run means a restart, not a gap. */
  run: string;
  /** Strictly increasing from 0 within a run. */
  seq: number;
  /** Epoch milliseconds, may carry a fraction. */
  capturedAt: number;
  width: number;
  height: number;
  /** 0..1 mean absolute difference to the last sent frame, when the motion gate computed it. */
  motion?: number;
  jpeg: Buffer;
}

/** A record as kafkajs produces it (and the subset of what it consumes). */
export interface FrameMessage {
  key: Buffer;
  value: Buffer;
  timestamp: string;
  headers: Record<string, string>;
  partition?: number;
}

export function encodeFrame(frame: Frame): FrameMessage {
  const headers: Record<string, string> = {
    [H.contentType]: 'image/jpeg',
    [H.schema]: FRAME_SCHEMA,
    [H.camera]: frame.camera,
    [H.run]: frame.run,
    [H.seq]: String(frame.seq),
    [H.capturedAt]: String(frame.capturedAt),
    [H.width]: String(frame.width),
    [H.height]: String(frame.height),
  };
  if (frame.motion !== undefined) headers[H.motion] = frame.motion.toFixed(4);
  return {
    key: Buffer.from(frame.camera, 'utf8'),
    value: frame.jpeg,
    timestamp: String(Math.floor(frame.capturedAt)),
    headers,
  };
}

export type PartitioningMode = 'key' | 'camera-index';

/**
 * Partition of a camera's frames. `key`: murmur2 of the camera id like every
 * Kafka client; `camera-index`: camera N on partition N-1 (the first seed's
 * layout), which needs a trailing number in the id.
 */
export function partitionFor(camera: string, partitions: number, mode: PartitioningMode): number {
  if (mode === 'key') return partitionForKey(Buffer.from(camera, 'utf8'), partitions);
  const index = cameraIndex(camera);
  if (index === undefined) {
    throw new Error(`partitioning "camera-index" needs a camera id ending in a number (like CAMERA-1), got "${camera}"`);
  }
  if (index < 1 || index > partitions) {
    throw new Error(`camera "${camera}" is camera ${index} but the topic has ${partitions} partitions; add partitions or use partitioning "key"`);
  }
  return index - 1;
}

export function cameraIndex(camera: string): number | undefined {
  const m = /(\d+)$/.exec(camera);
  return m ? Number(m[1]) : undefined;
}

// ---------------------------------------------------------------- decoding

export type FrameErrorCode =
  | 'empty-value'
  | 'oversized-value'
  | 'not-jpeg'
  | 'truncated-jpeg'
  | 'corrupt-jpeg'
  | 'too-many-pixels'
  | 'bad-camera-id'
  | 'too-many-cameras'
  | 'missing-header'
  | 'bad-header'
  | 'unsupported-schema';

/** A record that is not a valid frame; `code` goes into the DLQ's fl-error. */
export class FrameValidationError extends Error {
  constructor(
    readonly code: FrameErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'FrameValidationError';
  }
  /** The `fl-error` header value: machine-readable code, human detail. */
  get header(): string {
    return `${this.code}: ${this.message}`;
  }
}

/** The shape kafkajs hands a consumer (headers may be Buffers, arrays or absent). */
export interface ConsumedRecord {
  key?: Buffer | null;
  value: Buffer | null;
  timestamp: string;
  offset: string;
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/**
 * Where camera identity and order come from. `headers` is our own agent's
 * contract; `key` and `partition` let the cloud read the seeds' producers
 * (raw JPEG values, no headers) with order from offsets and capture time
 * from the record timestamp. `partition` N is camera N+1.
 */
export type CameraFrom = 'headers' | 'key' | 'partition';

export interface DecodeOptions {
  maxBytes: number;
  /** Largest width × height accepted, read from the JPEG header. Default DEFAULT_MAX_FRAME_PIXELS. */
  maxPixels?: number;
  cameraFrom?: CameraFrom;
  topic?: string;
  partition?: number;
  /** Prefix for camera ids derived from partitions: CAMERA-1 for partition 0. */
  cameraPrefix?: string;
}

export function headerString(headers: ConsumedRecord['headers'], name: string): string | undefined {
  const raw = headers?.[name];
  const one = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (one === undefined) return undefined;
  return typeof one === 'string' ? one : one.toString('utf8');
}

/**
 * Throws FrameValidationError unless `value` is one complete JPEG within
 * maxBytes and maxPixels (from its SOF header, before anything decodes it).
 * Bytes after the EOI marker (encoder padding) are allowed and kept.
 */
export function checkJpeg(value: Buffer | null, maxBytes: number, maxPixels = DEFAULT_MAX_FRAME_PIXELS): Buffer {
  if (!value || value.length === 0) throw new FrameValidationError('empty-value', 'record value is empty');
  if (value.length > maxBytes) {
    throw new FrameValidationError('oversized-value', `value is ${value.length} bytes, limit is ${maxBytes}`);
  }
  const layout = readJpegLayout(value);
  if ('code' in layout) throw new FrameValidationError(layout.code, `value ${layout.message}`);
  const tooBig = pixelLimitProblem(layout, maxPixels);
  if (tooBig) throw new FrameValidationError('too-many-pixels', tooBig);
  return value;
}

/** Our agent sends a UUID; anything of this shape is fine as a window key and log field. */
const RUN_PATTERN = /^[A-Za-z0-9._:-]{1,64}$/;

function checkCameraId(camera: string): string {
  const problem = cameraIdProblem(camera);
  if (problem) throw new FrameValidationError('bad-camera-id', problem);
  return camera;
}

function requireHeader(headers: ConsumedRecord['headers'], name: string): string {
  const v = headerString(headers, name);
  if (v === undefined || v === '') throw new FrameValidationError('missing-header', `header ${name} is missing`);
  return v;
}

function numberHeader(headers: ConsumedRecord['headers'], name: string, integer: boolean): number {
  const text = requireHeader(headers, name);
  const n = Number(text);
  if (!/^-?\d+(\.\d+)?$/.test(text) || !Number.isFinite(n) || (integer && !Number.isSafeInteger(n)) || n < 0) {
    throw new FrameValidationError('bad-header', `header ${name} is not a ${integer ? 'non-negative integer' : 'number'}: ${JSON.stringify(text.slice(0, 40))}`);
  }
  return n;
}

export function decodeFrame(record: ConsumedRecord, options: DecodeOptions): Frame {
  const mode = options.cameraFrom ?? 'headers';
  if (mode !== 'headers') return decodeForeignFrame(record, options, mode);
  const h = record.headers;
  const schema = requireHeader(h, H.schema);
  if (schema !== FRAME_SCHEMA) {
    throw new FrameValidationError('unsupported-schema', `fl-schema ${JSON.stringify(schema.slice(0, 40))} is not ${FRAME_SCHEMA}; upgrade the cloud service`);
  }
  const camera = checkCameraId(requireHeader(h, H.camera));
  const run = requireHeader(h, H.run);
  if (!RUN_PATTERN.test(run)) throw new FrameValidationError('bad-header', `header fl-run is not 1-64 characters of letters, digits, ".", "_", ":" or "-": ${JSON.stringify(run.slice(0, 40))}`);
  const seq = numberHeader(h, H.seq, true);
  const capturedAt = numberHeader(h, H.capturedAt, false);
  const width = numberHeader(h, H.width, true);
  const height = numberHeader(h, H.height, true);
  const motionText = headerString(h, H.motion);
  const jpeg = checkJpeg(record.value, options.maxBytes, options.maxPixels);
  const frame: Frame = { camera, run, seq, capturedAt, width, height, jpeg };
  if (motionText !== undefined) {
    const motion = Number(motionText);
    if (!(motion >= 0 && motion <= 1)) throw new FrameValidationError('bad-header', `header fl-motion is not in 0..1: ${JSON.stringify(motionText.slice(0, 40))}`);
    frame.motion = motion;
  }
  return frame;
}

/** Frames from producers that are not ours: identity from key or partition, order from offsets. */
function decodeForeignFrame(record: ConsumedRecord, options: DecodeOptions, mode: 'key' | 'partition'): Frame {
  let camera: string;
  if (mode === 'key') {
    if (!record.key || record.key.length === 0) throw new FrameValidationError('missing-header', 'record has no key, but cameraFrom is "key"');
    camera = checkCameraId(record.key.toString('utf8'));
  } else {
    if (options.partition === undefined) throw new Error('decodeFrame: cameraFrom "partition" needs options.partition');
    camera = checkCameraId(`${options.cameraPrefix ?? 'CAMERA-'}${options.partition + 1}`);
  }
  const jpeg = checkJpeg(record.value, options.maxBytes, options.maxPixels);
  return {
    camera,
    // One run per topic-partition: offsets are the only sequence such producers give.
    run: `${options.topic ?? 'topic'}/${options.partition ?? 0}`,
    seq: Number(record.offset),
    capturedAt: Number(record.timestamp),
    width: 0,
    height: 0,
    jpeg,
  };
}
