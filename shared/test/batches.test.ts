import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordSize, splitIntoBatches, RecordTooLargeError } from '../src/index.js';

const msg = (partition: number, bytes: number, id: number) => ({ partition, key: 'CAMERA-1', value: Buffer.alloc(bytes, id), headers: { 'fl-seq': String(id) } });

test('no partition of any group exceeds the batch limit, and order is kept', () => {
  const limit = 1_000_000;
  const burst = Array.from({ length: 40 }, (_, i) => msg(i % 3, 150_000 + i * 1000, i));
  const groups = splitIntoBatches(burst, limit);
  assert.ok(groups.length > 1);
  assert.deepEqual(groups.flat(), burst);
  for (const g of groups) {
    for (const p of [0, 1, 2]) {
      const bytes = g.filter((m) => m.partition === p).reduce((s, m) => s + recordSize(m), 128);
      assert.ok(bytes <= limit, `partition ${p} batch of ${bytes} > ${limit}`);
    }
  }
});

test('small frames all fit in one request', () => {
  assert.equal(splitIntoBatches(Array.from({ length: 20 }, (_, i) => msg(i % 3, 1000, i)), 1_000_000).length, 1);
});

test('a single record over the limit is refused with advice', () => {
  assert.throws(() => splitIntoBatches([msg(0, 2_000_000, 1)], 1_000_000), RecordTooLargeError);
  assert.throws(() => splitIntoBatches([{ key: 'a', value: Buffer.alloc(1) }], 1000), /explicit partition/);
});
