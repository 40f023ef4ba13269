// Three narrow speed-ups inside kafkajs's produce-request encoding, which a V8
// profile of the agent's reliable send over TLS showed at 32.6 % of the send
// phase (kafkajs 2.2.4, its final release, so these internals are frozen):
// - CRC-32C of each record batch: 13.9 % in kafkajs's table-driven JavaScript
//   loop. @node-rs/crc32 computes the same checksum natively (hardware
//   accelerated) with prebuilt binaries for linux x64 and arm64.
// - Encoder growth: 9.2 % zero-filling in Buffer.alloc when an Encoder grows,
//   though every byte up to its offset is written before anything reads it.
// - Copies: 12.5 %, each frame copied at every level of the request; now
//   kept by reference, with the batch CRC over the chunks in place
//   (kafkajs-record-batch.ts), so the socket write's join is the one copy.
// The broker validates every batch's CRC (CORRUPT_MESSAGE otherwise), so a
// wrong checksum, a lost chunk or an unwritten byte cannot pass the
// real-broker tests.
import Module, { createRequire } from 'node:module';
import type { Logger } from '../log/logger.js';
import { chunkedCrcRecordBatch } from './kafkajs-record-batch.js';

const require = createRequire(import.meta.url);

const CRC_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
/** The one kafkajs module that requires CRC_MODULE (it keeps what it got at its first load); replaced when Encoders are chunked. */
const RECORD_BATCH_MODULE = 'kafkajs/src/protocol/recordBatch/v0/index.js';
const ENCODER_MODULE = 'kafkajs/src/protocol/encoder.js';
/** `0` leaves kafkajs untouched: the bench's baseline, and an escape hatch should a native binding misbehave. */
export const OFF_SWITCH = 'FRAMELINE_KAFKAJS_FAST_PATH';

export interface KafkajsFastPath {
  /** `native`: @node-rs/crc32's crc32c computes record batch CRCs; `kafkajs`: its own JavaScript. */
  crc32c: 'native' | 'kafkajs';
  /** `crc-over-chunks`: record batches are built by kafkajs-record-batch.ts, CRC over the body's chunks in place; `kafkajs`: its own. */
  recordBatch: 'crc-over-chunks' | 'kafkajs';
  /** `unzeroed`: Encoder growth uses Buffer.allocUnsafe; `kafkajs`: its own zero-filled Buffer.alloc. */
  encoderGrowth: 'unzeroed' | 'kafkajs';
  /** `chunked`: Encoders keep frames by reference and join them when their `buffer` is read; `kafkajs`: copied at every level. */
  encoderCopies: 'chunked' | 'kafkajs';
  /** Why a part stayed kafkajs's own, one line each; empty when all are active. */
  notes: string[];
}

let applied: KafkajsFastPath | undefined;

/**
 * Applies the fast path once per process (later calls return the first
 * result) and logs at debug level what stayed kafkajs's own and why. Must run
 * before kafkajs first encodes a produce request or decodes a fetch: it
 * supplies the CRC and record batch modules through Node's `require.cache`
 * before kafkajs first requires them. Never throws: anything unexpected leaves
 * kafkajs as it is, and so does FRAMELINE_KAFKAJS_FAST_PATH=0 in `env`.
 */
export function applyKafkajsFastPath(logger?: Logger, env: NodeJS.ProcessEnv = process.env): KafkajsFastPath {
  if (!applied && env[OFF_SWITCH] === '0') {
    applied = { crc32c: 'kafkajs', recordBatch: 'kafkajs', encoderGrowth: 'kafkajs', encoderCopies: 'kafkajs', notes: [`turned off by ${OFF_SWITCH}=0`] };
    logger?.child('kafka').debug('kafkajs fast path off', { reason: applied.notes[0] });
  }
  if (!applied) {
    const notes: string[] = [];
    const encoder = patchEncoder(notes);
    const native = loadNativeCrc32c(notes);
    const batch = native ? injectRecordBatchParts(native, encoder.encoderCopies === 'chunked', notes) : ({ crc32c: 'kafkajs', recordBatch: 'kafkajs' } as const);
    applied = { ...batch, ...encoder, notes };
    if (notes.length > 0) logger?.child('kafka').debug('kafkajs fast path partly off', { ...batch, ...encoder, notes });
  }
  return applied;
}

type NativeCrc32c = (input: Uint8Array, state?: number) => number;

function loadNativeCrc32c(notes: string[]): NativeCrc32c | undefined {
  try {
    return (require('@node-rs/crc32') as { crc32c: NativeCrc32c }).crc32c;
  } catch {
    notes.push(`@node-rs/crc32 has no binary for ${process.platform}-${process.arch}; kafkajs's JavaScript CRC-32C stays`);
    return undefined;
  }
}

/** Makes `require(specifier)` from kafkajs return `exports` without reading the file (Node's documented `require.cache`). */
function supplyModule(specifier: string, exports: unknown): void {
  const path = require.resolve(specifier);
  const entry = new Module(path);
  entry.filename = path;
  entry.loaded = true;
  entry.exports = exports;
  require.cache[path] = entry;
}

/** Supplies the CRC module, and with chunked Encoders the record batch module, before kafkajs first loads them. */
function injectRecordBatchParts(native: NativeCrc32c, chunked: boolean, notes: string[]): Pick<KafkajsFastPath, 'crc32c' | 'recordBatch'> {
  const asIs = { crc32c: 'kafkajs', recordBatch: 'kafkajs' } as const;
  try {
    if (require.cache[require.resolve(RECORD_BATCH_MODULE)]) {
      notes.push(`kafkajs's record batch module was loaded before the fast path; its JavaScript CRC-32C stays`);
      return asIs;
    }
    // kafkajs writes the CRC with writeUInt32; crc32c already returns it unsigned.
    supplyModule(CRC_MODULE, function nativeCrc32c(buffer: Buffer): number {
      return native(buffer);
    });
  } catch (error) {
    notes.push(`kafkajs's CRC module was not where expected (${(error as Error).message.split('\n')[0]}); its JavaScript CRC-32C stays`);
    return asIs;
  }
  if (!chunked) return { crc32c: 'native', recordBatch: 'kafkajs' };
  try {
    supplyModule(RECORD_BATCH_MODULE, chunkedCrcRecordBatch(native));
    return { crc32c: 'native', recordBatch: 'crc-over-chunks' };
  } catch (error) {
    notes.push(`kafkajs's record batch stays its own: ${(error as Error).message.split('\n')[0]}`);
    return { crc32c: 'native', recordBatch: 'kafkajs' };
  }
}

interface EncoderShape {
  nextPowerOfTwo(value: number): number;
  prototype: EncoderInstance;
  new (): EncoderInstance;
}
interface EncoderInstance {
  buf: Buffer;
  offset: number;
  /** Set by the chunked patch: bytes written before `buf`, by reference. */
  chunks?: Buffer[];
  chunkedLength?: number;
  readonly buffer: Buffer;
  ensureAvailable(length: number): void;
  writeBufferInternal(buffer: Buffer): void;
  writeEncoder(value: EncoderInstance): EncoderInstance;
  writeEncoderArray(value: EncoderInstance[]): EncoderInstance;
  size(): number;
}

type EncoderPatches = Pick<KafkajsFastPath, 'encoderGrowth' | 'encoderCopies'>;
const ENCODER_AS_IS: EncoderPatches = { encoderGrowth: 'kafkajs', encoderCopies: 'kafkajs' };

function patchEncoder(notes: string[]): EncoderPatches {
  let Encoder: EncoderShape;
  try {
    Encoder = require(ENCODER_MODULE) as EncoderShape;
  } catch (error) {
    notes.push(`kafkajs's Encoder was not where expected (${(error as Error).message.split('\n')[0]}); it stays as it is`);
    return ENCODER_AS_IS;
  }
  const probe = typeof Encoder === 'function' ? new Encoder() : undefined;
  const shaped =
    typeof Encoder.nextPowerOfTwo === 'function' &&
    ['ensureAvailable', 'writeBufferInternal', 'writeEncoder', 'writeEncoderArray', 'size'].every((m) => typeof Reflect.get(Encoder.prototype, m) === 'function') &&
    typeof Object.getOwnPropertyDescriptor(Encoder.prototype, 'buffer')?.get === 'function' &&
    Buffer.isBuffer(probe?.buf) &&
    probe?.offset === 0;
  if (!shaped) {
    notes.push(`kafkajs's Encoder lacks nextPowerOfTwo, ensureAvailable, writeBufferInternal, writeEncoder(Array), size, buffer, buf or offset; it stays as it is`);
    return ENCODER_AS_IS;
  }
  // Same growth rule as kafkajs's (next power of two, copy what is written); only the zero fill goes.
  Encoder.prototype.ensureAvailable = function ensureAvailable(length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  chunkLargeWrites(Encoder.prototype);
  return { encoderGrowth: 'unzeroed', encoderCopies: 'chunked' };
}

/** Buffers at least this long are kept by reference instead of copied. */
const CHUNK_MIN_BYTES = 4096;

/**
 * kafkajs copies each frame about ten times on its way into one produce
 * request (record, batch body, batch, partition, topic, request, size prefix,
 * plus doubling regrowth), which the profile showed at ~25 % of the send
 * phase once the CRC and zero fill were gone. Here an Encoder keeps large
 * writes and embedded Encoders as a list of chunks and joins them only when
 * its `buffer` is read: for the socket (kafkajs-record-batch.ts takes the
 * batch CRC over the chunks), or for the batch CRC too when that file's
 * record batch could not be supplied.
 * Nothing in kafkajs writes to an Encoder after embedding it or reads `offset`
 * from outside, which is what makes sharing the chunks safe.
 */
function chunkLargeWrites(proto: EncoderInstance): void {
  const copyIn = proto.writeBufferInternal;
  const writeEncoder = proto.writeEncoder;
  const writeEncoderArray = proto.writeEncoderArray;
  // Moves what `buf` holds so far into the chunk list; later writes go to the rest of `buf`.
  const seal = (e: EncoderInstance): Buffer[] => {
    const chunks = (e.chunks ??= []);
    if (e.offset > 0) {
      chunks.push(e.buf.subarray(0, e.offset));
      e.chunkedLength = (e.chunkedLength ?? 0) + e.offset;
      e.buf = e.buf.subarray(e.offset);
      e.offset = 0;
    }
    return chunks;
  };
  const append = (e: EncoderInstance, part: Buffer): void => {
    if (part.length === 0) return;
    seal(e).push(part);
    e.chunkedLength! += part.length;
  };
  proto.writeBufferInternal = function writeBufferInternal(buffer: Buffer): void {
    if (buffer.length < CHUNK_MIN_BYTES) copyIn.call(this, buffer);
    else append(this, buffer);
  };
  proto.writeEncoder = function (value: EncoderInstance): EncoderInstance {
    if (value?.chunks === undefined) return writeEncoder.call(this, value);
    for (const part of [...value.chunks, value.buf.subarray(0, value.offset)]) append(this, part);
    return this;
  };
  proto.writeEncoderArray = function (values: EncoderInstance[]): EncoderInstance {
    if (!Array.isArray(values) || !values.some((v) => v?.chunks !== undefined)) return writeEncoderArray.call(this, values);
    for (const v of values) this.writeEncoder(v);
    return this;
  };
  proto.size = function size(): number {
    return (this.chunkedLength ?? 0) + this.offset;
  };
  const contiguous = Object.getOwnPropertyDescriptor(proto, 'buffer')!.get!;
  Object.defineProperty(proto, 'buffer', {
    configurable: true,
    get(this: EncoderInstance): Buffer {
      if (this.chunks) {
        // Joined once; what follows appends to the joined copy as kafkajs's own Encoder would.
        this.buf = Buffer.concat([...this.chunks, this.buf.subarray(0, this.offset)]);
        this.offset = this.buf.length;
        this.chunks = undefined;
        this.chunkedLength = undefined;
      }
      return contiguous.call(this) as Buffer;
    },
  });
}
