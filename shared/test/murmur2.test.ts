import { test } from 'node:test';
import assert from 'node:assert/strict';
import { murmur2, partitionForKey, partitionFor, cameraIndex } from '../src/index.js';

// Printed by the Java client itself (org.apache.kafka.common.utils.Utils.murmur2
// from kafka-clients 4.4.0); the first six are also the vectors of Kafka's UtilsTest.
const JAVA_VECTORS: [string, number, number, number][] = [
  // key, murmur2, partition of 3, partition of 12
  ['21', -973932308, 0, 0],
  ['foobar', -790332482, 0, 6],
  ['a-little-bit-long-string', -985981536, 2, 8],
  ['a-little-bit-longer-string', -1486304829, 2, 11],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971, 2, 5],
  ['abc', 479470107, 0, 3],
  ['CAMERA-1', -1727738162, 0, 6],
  ['CAMERA-2', 19296858, 0, 6],
  ['CAMERA-3', -1002485752, 1, 4],
  ['CAMERA-4', -1875666821, 0, 3],
  ['cam-garage', -1851907451, 0, 9],
  ['', 275646681, 0, 9],
  ['é📷', -1039619277, 2, 11],
];

test('murmur2 equals the Java client hash for every vector (all tail lengths)', () => {
  for (const [key, hash] of JAVA_VECTORS) {
    assert.equal(murmur2(Buffer.from(key, 'utf8')), hash, `murmur2(${JSON.stringify(key)})`);
  }
});

test('partition of a key equals the Java producer partition for 3 and 12 partitions', () => {
  for (const [key, , p3, p12] of JAVA_VECTORS) {
    assert.equal(partitionForKey(Buffer.from(key, 'utf8'), 3), p3, `${key} of 3`);
    assert.equal(partitionForKey(Buffer.from(key, 'utf8'), 12), p12, `${key} of 12`);
  }
});

test('key partitioning stacks CAMERA-1 and CAMERA-2 on partition 0 of 3, as DESIGN.md warns', () => {
  assert.equal(partitionFor('CAMERA-1', 3, 'key'), 0);
  assert.equal(partitionFor('CAMERA-2', 3, 'key'), 0);
});

test('camera-index partitioning puts camera N on partition N-1 and rejects ids it cannot place', () => {
  assert.deepEqual(['CAMERA-1', 'CAMERA-2', 'CAMERA-3'].map((c) => partitionFor(c, 3, 'camera-index')), [0, 1, 2]);
  assert.equal(cameraIndex('cam-12'), 12);
  assert.throws(() => partitionFor('garage', 3, 'camera-index'), /ending in a number/);
  assert.throws(() => partitionFor('CAMERA-4', 3, 'camera-index'), /3 partitions/);
});
