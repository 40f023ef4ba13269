// Two narrow speed-ups inside kafkajs's produce-request encoding, which a V8
// profile of the agent's reliable send over TLS showed at 32.6 % of the send
// phase (kafkajs 2.2.4, its final release, so these internals are frozen):
// - CRC-32C of each record batch: 13.9 % in kafkajs's table-driven JavaScript
//   loop. @node-rs/crc32 computes the same checksum natively (SSE4.2 on x64,
//   the CRC instructions on arm64) with prebuilt binaries for both.
// - Encoder growth: 9.2 % zero-filling in Buffer.alloc when an Encoder grows,
//   though every byte up to its offset is written before anything reads it.
// The broker validates every batch's CRC (CORRUPT_MESSAGE otherwise), so a
// wrong checksum or an unwritten byte cannot pass the real-broker tests.
import Module, { createRequire } from 'node:module';
import type { Logger } from '../log/logger.js';

const require = createRequire(import.meta.url);

const CRC_MODULE = 'kafkajs/src/protocol/recordBatch/crc32C/index.js';
/** The one kafkajs module that requires CRC_MODULE; it keeps what it got at its first load. */
const CRC_USER = 'kafkajs/src/protocol/recordBatch/v0/index.js';
const ENCODER_MODULE = 'kafkajs/src/protocol/encoder.js';
/** `0` leaves kafkajs untouched: the bench's baseline, and an escape hatch should a native binding misbehave. */
export const OFF_SWITCH = 'FRAMELINE_KAFKAJS_FAST_PATH';

export interface KafkajsFastPath {
  /** `native`: @node-rs/crc32's crc32c computes record batch CRCs; `kafkajs`: its own JavaScript. */
  crc32c: 'native' | 'kafkajs';
  /** `unzeroed`: Encoder growth uses Buffer.allocUnsafe; `kafkajs`: its own zero-filled Buffer.alloc. */
  encoderGrowth: 'unzeroed' | 'kafkajs';
  /** Why a part stayed kafkajs's own, one line each; empty when both are active. */
  notes: string[];
}

let applied: KafkajsFastPath | undefined;

/**
 * Applies the fast path once per process (later calls return the first
 * result) and logs at debug level what stayed kafkajs's own and why. Must run
 * before kafkajs first encodes a produce request or decodes a fetch: it
 * supplies the CRC module through Node's `require.cache` before kafkajs's
 * record batch module requires it. Never throws: anything unexpected leaves
 * kafkajs as it is, and so does FRAMELINE_KAFKAJS_FAST_PATH=0 in `env`.
 */
export function applyKafkajsFastPath(logger?: Logger, env: NodeJS.ProcessEnv = process.env): KafkajsFastPath {
  if (!applied && env[OFF_SWITCH] === '0') {
    applied = { crc32c: 'kafkajs', encoderGrowth: 'kafkajs', notes: [`turned off by ${OFF_SWITCH}=0`] };
    logger?.child('kafka').debug('kafkajs fast path off', { reason: applied.notes[0] });
  }
  if (!applied) {
    const notes: string[] = [];
    const crc32c = injectNativeCrc32c(notes);
    const encoderGrowth = patchEncoderGrowth(notes);
    applied = { crc32c, encoderGrowth, notes };
    if (notes.length > 0) logger?.child('kafka').debug('kafkajs fast path partly off', { crc32c, encoderGrowth, notes });
  }
  return applied;
}

function injectNativeCrc32c(notes: string[]): KafkajsFastPath['crc32c'] {
  let native: (input: Uint8Array) => number;
  try {
    native = (require('@node-rs/crc32') as { crc32c: (input: Uint8Array) => number }).crc32c;
  } catch {
    notes.push(`@node-rs/crc32 has no binary for ${process.platform}-${process.arch}; kafkajs's JavaScript CRC-32C stays`);
    return 'kafkajs';
  }
  try {
    const crcPath = require.resolve(CRC_MODULE);
    const userPath = require.resolve(CRC_USER);
    if (require.cache[userPath]) {
      notes.push(`kafkajs's record batch module was loaded before the fast path; its JavaScript CRC-32C stays`);
      return 'kafkajs';
    }
    // A module object marked loaded makes `require` return its exports without reading the file.
    const entry = new Module(crcPath);
    entry.filename = crcPath;
    entry.loaded = true;
    // kafkajs writes the CRC with writeUInt32; crc32c already returns it unsigned.
    entry.exports = function nativeCrc32c(buffer: Buffer): number {
      return native(buffer);
    };
    require.cache[crcPath] = entry;
    return 'native';
  } catch (error) {
    notes.push(`kafkajs's CRC module was not where expected (${(error as Error).message.split('\n')[0]}); its JavaScript CRC-32C stays`);
    return 'kafkajs';
  }
}

interface EncoderShape {
  nextPowerOfTwo(value: number): number;
  prototype: { ensureAvailable?: (this: EncoderInstance, length: number) => void };
  new (): EncoderInstance;
}
interface EncoderInstance {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
}

function patchEncoderGrowth(notes: string[]): KafkajsFastPath['encoderGrowth'] {
  let Encoder: EncoderShape;
  try {
    Encoder = require(ENCODER_MODULE) as EncoderShape;
  } catch (error) {
    notes.push(`kafkajs's Encoder was not where expected (${(error as Error).message.split('\n')[0]}); its growth stays`);
    return 'kafkajs';
  }
  const probe = typeof Encoder === 'function' ? new Encoder() : undefined;
  const shaped =
    typeof Encoder.nextPowerOfTwo === 'function' &&
    typeof Encoder.prototype.ensureAvailable === 'function' &&
    Buffer.isBuffer(probe?.buf) &&
    probe?.offset === 0;
  if (!shaped) {
    notes.push(`kafkajs's Encoder lacks nextPowerOfTwo, ensureAvailable, buf or offset; its growth stays`);
    return 'kafkajs';
  }
  // Same growth rule as kafkajs's (next power of two, copy what is written); only the zero fill goes.
  Encoder.prototype.ensureAvailable = function ensureAvailable(length: number): void {
    if (this.offset + length <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
    this.buf.copy(grown, 0, 0, this.offset);
    this.buf = grown;
  };
  return 'unzeroed';
}
