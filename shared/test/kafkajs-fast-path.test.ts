import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { applyKafkajsFastPath, createKafka, createLogger } from '../src/index.js';
import { seededRandom, sharedBroker } from '../src/testing/index.js';

const require = createRequire(import.meta.url);
type Crc = (buffer: Buffer) => number;
// Before anything below requires kafkajs's record batch module, as the client factory does.
const state = applyKafkajsFastPath();
/** What kafkajs's record batch module gets when it requires its CRC. */
const crcKafkajsUses = require('kafkajs/src/protocol/recordBatch/crc32C') as Crc;
/** kafkajs's own JavaScript CRC-32C (signed), which the fast path replaces. */
const kafkajsJsCrc = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as Crc;
const SIZES = [0, 1, 7, 8, 63, 4096, 92 * 1024 + 5, (1 << 20) + 3];

test('the fast path is active here: native CRC-32C, record batch CRC over chunks, unzeroed growth, chunked copies', () => {
  assert.deepEqual(state, { crc32c: 'native', recordBatch: 'crc-over-chunks', encoderGrowth: 'unzeroed', encoderCopies: 'chunked', notes: [] });
  assert.equal(applyKafkajsFastPath(), state, 'a second call changes nothing');
  assert.equal(crcKafkajsUses.name, 'nativeCrc32c', 'kafkajs requires the injected CRC');
});

test('the injected CRC-32C equals kafkajs JavaScript one on random buffers of several sizes', () => {
  const random = seededRandom();
  for (const size of SIZES) {
    for (let i = 0; i < 3; i++) {
      const buffer = random.bytes(size);
      assert.equal(crcKafkajsUses(buffer), kafkajsJsCrc(buffer) >>> 0, `size ${size}, seed ${random.seed}`);
      const offset = random.int(Math.max(1, size));
      const view = buffer.subarray(offset); // a view into a larger buffer, as Encoder.buffer returns
      assert.equal(crcKafkajsUses(view), kafkajsJsCrc(view) >>> 0, `size ${size} from ${offset}, seed ${random.seed}`);
    }
  }
});

test('record batches carry the CRC-32C of their bytes and decode with kafkajs, plain and gzip', async () => {
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (o: object) => Promise<{ buffer: Buffer; size(): number }> };
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (o: object) => unknown;
  const decodeBatch = require('kafkajs/src/protocol/recordBatch/v0/decoder') as (d: unknown) => Promise<{ records: { value: Buffer }[] }>;
  const Decoder = require('kafkajs/src/protocol/decoder') as new (b: Buffer) => unknown;
  const random = seededRandom();
  // Large values first, so the batch body ends in bytes written after its last chunk.
  const values = SIZES.slice(1, 7).reverse().map((n) => random.bytes(n));
  for (const compression of [0, 1]) {
    const records = values.map((value, i) => Record({ offsetDelta: i, key: Buffer.from('CAMERA-1'), value, headers: { 'fl-seq': String(i) } }));
    const batch = await RecordBatch({ compression, records, lastOffsetDelta: records.length - 1 });
    const encoded = batch.buffer;
    assert.equal(batch.size(), encoded.length);
    // FirstOffset int64, Length int32, PartitionLeaderEpoch int32, Magic int8, then CRC over the rest.
    assert.equal(encoded.readInt32BE(8), encoded.length - 12, 'the batch length covers every byte');
    assert.equal(encoded.readUInt32BE(17), kafkajsJsCrc(encoded.subarray(21)) >>> 0, `compression ${compression}`);
    const decoded = await decodeBatch(new Decoder(encoded));
    assert.deepEqual(decoded.records.map((r) => r.value), values, `compression ${compression}, seed ${random.seed}`);
  }
});

interface Encoder {
  writeInt16(v: number): Encoder; writeInt32(v: number): Encoder; writeString(v: string): Encoder;
  writeBytes(v: Buffer): Encoder; writeVarIntBytes(v: Buffer): Encoder; writeBuffer(v: Buffer): Encoder;
  writeEncoder(v: Encoder): Encoder; writeArray(v: Encoder[], type?: 'object'): Encoder;
  size(): number; readonly buffer: Buffer;
}

test('encoders nesting large and small writes give the bytes kafkajs wire format expects', () => {
  const EncoderClass = require('kafkajs/src/protocol/encoder.js') as new () => Encoder;
  const random = seededRandom();
  const big = random.bytes(100_000);
  const mid = random.bytes(5000);
  const small = random.bytes(100);
  const int16 = (v: number) => Buffer.from([v >> 8, v & 0xff]);
  const int32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
  const inner = new EncoderClass().writeInt32(7).writeBytes(big).writeVarIntBytes(small);
  const innerBytes = Buffer.concat([int32(7), int32(big.length), big, Buffer.from([200, 1]), small]); // varint: zigzag(100) = 200
  const other = new EncoderClass().writeString('x').writeBuffer(mid);
  const otherBytes = Buffer.concat([int16(1), Buffer.from('x'), mid]);
  assert.equal(inner.size(), innerBytes.length);
  const outer = new EncoderClass().writeInt16(1).writeEncoder(inner).writeArray([other, inner], 'object').writeInt16(2);
  const expected = Buffer.concat([int16(1), innerBytes, int32(2), otherBytes, innerBytes, int16(2)]);
  assert.equal(outer.size(), expected.length);
  assert.ok(outer.buffer.equals(expected), `seed ${random.seed}`);
  assert.ok(outer.buffer.equals(expected), 'reading buffer twice gives the same bytes');
  outer.writeBytes(mid).writeInt16(3); // writes after a read append, as kafkajs's own Encoder does
  assert.ok(outer.buffer.equals(Buffer.concat([expected, int32(mid.length), mid, int16(3)])));
  assert.equal(outer.size(), outer.buffer.length);
  assert.ok(inner.buffer.equals(innerBytes), 'embedding leaves the inner encoder intact');
});

test('frames produced through the factory client over TLS come back byte for byte', async () => {
  const broker = await sharedBroker();
  const topics = await broker.topics('fast-path', 1);
  const quiet = createLogger({ level: 'error', stream: new Writable({ write: (_c, _e, cb) => cb() }) });
  const producer = createKafka(broker.connection('agent', 'external', 'test-fast-path'), quiet).producer({
    idempotent: true, maxInFlightRequests: 1, // as the agent's reliable delivery
  });
  const random = seededRandom();
  // Sizes across the encoder's power-of-two steps, a few frames per request.
  const values = [1, 511, 512, 513, 40_000, 92 * 1024, 131_073, 300_000].map((n) => random.bytes(n));
  await producer.connect();
  try {
    for (let i = 0; i < values.length; i += 3) {
      await producer.send({
        topic: topics.frames, acks: -1,
        messages: values.slice(i, i + 3).map((value, j) => ({ key: 'CAMERA-1', value, headers: { 'fl-seq': String(i + j) } })),
      });
    }
  } finally {
    await producer.disconnect();
  }
  const got = await broker.readRecords(topics.frames, { count: values.length, timeoutMs: 30_000 });
  assert.equal(got.length, values.length, `seed ${random.seed}`);
  got.forEach(({ message }, i) => {
    assert.equal(message.headers?.['fl-seq']?.toString(), String(i));
    assert.ok(message.value?.equals(values[i]!), `record ${i} (${values[i]!.length} bytes) identical, seed ${random.seed}`);
  });
});
