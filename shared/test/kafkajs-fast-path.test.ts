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

test('the fast path is active here: native CRC-32C and unzeroed encoder growth', () => {
  assert.deepEqual(state, { crc32c: 'native', encoderGrowth: 'unzeroed', notes: [] });
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

test('a kafkajs record batch carries the CRC-32C of its bytes after the CRC field', async () => {
  const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> };
  const Record = require('kafkajs/src/protocol/recordBatch/record/v0') as (o: object) => unknown;
  const random = seededRandom();
  const values = SIZES.slice(1, 7).map((n) => random.bytes(n));
  const records = values.map((value, i) => Record({ offsetDelta: i, key: Buffer.from('CAMERA-1'), value, headers: { 'fl-seq': String(i) } }));
  const encoded = (await RecordBatch({ records, lastOffsetDelta: records.length - 1 })).buffer;
  // FirstOffset int64, Length int32, PartitionLeaderEpoch int32, Magic int8, then CRC over the rest.
  assert.equal(encoded.readInt32BE(8), encoded.length - 12, 'the batch length covers every grown byte');
  assert.equal(encoded.readUInt32BE(17), kafkajsJsCrc(encoded.subarray(21)) >>> 0);
  for (const value of values) assert.ok(encoded.includes(value), `a ${value.length}-byte value is copied whole`);
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
