// kafkajs's record batch (Kafka's v2 format, magic 2), built so that its
// CRC-32C runs over the body's chunks where they lie. kafkajs's own joins the
// body into one buffer for the CRC and then joins the batch again for its
// length prefix: two of the three copies per frame left once Encoders keep
// frames by reference (~11 % of the send phase's samples).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** kafkajs's Encoder as the fast path leaves it: bytes are `chunks` (when set) then `buf` up to `offset`. */
export interface ChunkedEncoder {
  buf: Buffer;
  offset: number;
  chunks?: Buffer[];
  size(): number;
  writeInt8(v: number): ChunkedEncoder;
  writeInt16(v: number): ChunkedEncoder;
  writeInt32(v: number): ChunkedEncoder;
  writeUInt32(v: number): ChunkedEncoder;
  writeInt64(v: unknown): ChunkedEncoder;
  writeBuffer(v: Buffer): ChunkedEncoder;
  writeEncoder(v: ChunkedEncoder): ChunkedEncoder;
  writeEncoderArray(v: ChunkedEncoder[]): ChunkedEncoder;
  writeArray(v: unknown[], type?: string): ChunkedEncoder;
}

interface Compression {
  Types: { None: number };
  COMPRESSION_CODEC_MASK: number;
  lookupCodec(type: number): { compress(encoder: ChunkedEncoder): Promise<Buffer> } | null;
}

interface BatchFields {
  compression?: number;
  firstOffset?: unknown;
  firstTimestamp?: number;
  maxTimestamp?: number;
  partitionLeaderEpoch?: number;
  lastOffsetDelta?: number;
  transactional?: boolean;
  producerId?: unknown;
  producerEpoch?: number;
  firstSequence?: number;
  records?: ChunkedEncoder[];
}

const MAGIC_BYTE = 2;
const TRANSACTIONAL_BIT = 0x10;
/** PartitionLeaderEpoch int32 + Magic int8 + CRC uint32: what the batch length counts before the body. */
const HEADER_AFTER_LENGTH = 9;

/**
 * The exports of kafkajs's `recordBatch/v0/index.js` ({ RecordBatch,
 * MAGIC_BYTE }) with the same fields and defaults, for `require.cache`.
 * `crc32c(bytes, state)` continues a CRC-32C across calls. Throws when
 * kafkajs's Encoder, Long or compression modules lack what it uses.
 */
export function chunkedCrcRecordBatch(crc32c: (input: Uint8Array, state?: number) => number): object {
  const Encoder = require('kafkajs/src/protocol/encoder.js') as new () => ChunkedEncoder;
  const Long = require('kafkajs/src/utils/long.js') as { fromInt(v: number): unknown; fromValue(v: number): unknown };
  const compression = require('kafkajs/src/protocol/message/compression/index.js') as Compression;
  if (typeof Long.fromInt !== 'function' || typeof Long.fromValue !== 'function' || typeof compression.lookupCodec !== 'function' || typeof compression.COMPRESSION_CODEC_MASK !== 'number') {
    throw new Error('kafkajs Long or compression module lacks fromInt, fromValue, lookupCodec or COMPRESSION_CODEC_MASK');
  }
  const None = compression.Types.None;

  async function RecordBatch(fields: BatchFields): Promise<ChunkedEncoder> {
    const { compression: codec = None, records = [], transactional = false } = fields;
    const now = Date.now();
    const body = new Encoder()
      .writeInt16((codec & compression.COMPRESSION_CODEC_MASK) | (transactional ? TRANSACTIONAL_BIT : 0))
      .writeInt32(fields.lastOffsetDelta ?? 0)
      .writeInt64(fields.firstTimestamp ?? now)
      .writeInt64(fields.maxTimestamp ?? now)
      .writeInt64(fields.producerId ?? Long.fromValue(-1))
      .writeInt16(fields.producerEpoch ?? 0)
      .writeInt32(fields.firstSequence ?? 0);
    if (codec === None) {
      // kafkajs passes a type only when every record has the same one.
      const type = typeof records[0];
      body.writeArray(records, records.every((r) => typeof r === type) ? type : undefined);
    } else {
      const compressor = compression.lookupCodec(codec);
      if (!compressor) throw new Error(`kafkajs has no codec for compression type ${codec}`);
      const plain = new Encoder().writeEncoderArray(records);
      body.writeInt32(records.length).writeBuffer(await compressor.compress(plain));
    }
    let crc = 0;
    for (const part of [...(body.chunks ?? []), body.buf.subarray(0, body.offset)]) crc = crc32c(part, crc);
    return new Encoder()
      .writeInt64(fields.firstOffset ?? Long.fromInt(0))
      .writeInt32(HEADER_AFTER_LENGTH + body.size())
      .writeInt32(fields.partitionLeaderEpoch ?? 0)
      .writeInt8(MAGIC_BYTE)
      .writeUInt32(crc)
      .writeEncoder(body);
  }
  return { RecordBatch, MAGIC_BYTE };
}
