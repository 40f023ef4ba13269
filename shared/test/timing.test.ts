// The shared backoff, pacer, timeout race and Kafka error classification as
// pure functions: fixed random numbers and a hand-moved clock, no broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelayMs, classifyKafkaError, createBackoff, createPacer, within } from '../src/index.js';

test('backoff doubles from initialMs up to maxMs; jitter takes its share off the top; reset starts over', () => {
  const plain = createBackoff({ initialMs: 200, maxMs: 1000, jitter: 0 });
  assert.deepEqual([plain.next(), plain.next(), plain.next(), plain.next()], [200, 400, 800, 1000]);
  plain.reset();
  assert.equal(plain.next(), 200);
  assert.equal(backoffDelayMs(2, { initialMs: 100, maxMs: 10_000, random: () => 0 }), 200);
  assert.equal(backoffDelayMs(2, { initialMs: 100, maxMs: 10_000, random: () => 1 }), 400);
  assert.equal(backoffDelayMs(2, { initialMs: 100, maxMs: 10_000, jitter: 1, random: () => 0 }), 0);
});

test('pacer: reservations queue back to back; a late caller within the slack keeps its slot, a later one restarts from now', () => {
  let t = 1000;
  const bytes = createPacer({ bytesPerSec: 1000 }, () => t);
  assert.equal(bytes.reserve(1, 500), 0);
  assert.equal(bytes.reserve(1, 500), 500);
  assert.deepEqual(bytes.batchLimit(100, 1 << 20), { frames: 100, bytes: 1000 });

  const frames = createPacer({ framesPerSec: 10, slackMs: 100 }, () => t);
  assert.equal(frames.reserve(1, 0), 0); // slot at 1000, next at 1100
  t = 1150; // 50 ms late: the grid holds, the next slot comes sooner
  assert.equal(frames.reserve(1, 0), 0);
  assert.equal(frames.reserve(1, 0), 50); // slot 1200
  t = 1500; // 200 ms late: beyond the slack, start again from now
  assert.equal(frames.reserve(1, 0), 0);
  assert.equal(frames.reserve(1, 0), 100);
});

test('within: the value when it comes in time, undefined when the time runs out', async () => {
  assert.equal(await within(Promise.resolve(7), 1000), 7);
  assert.equal(await within(new Promise(() => {}), 5), undefined);
});

test('classifyKafkaError: refused records and ACL refusals are not retriable; fenced producers and the rest are', () => {
  const wrapped = (type: string, message = type) => Object.assign(new Error('retries exhausted'), { cause: Object.assign(new Error(message), { type }) });
  assert.deepEqual(classifyKafkaError(wrapped('MESSAGE_TOO_LARGE')), { kind: 'records-rejected', type: 'MESSAGE_TOO_LARGE', retriable: false });
  assert.deepEqual(classifyKafkaError(wrapped('UNKNOWN_PRODUCER_ID')), { kind: 'producer-fenced', type: 'UNKNOWN_PRODUCER_ID', retriable: true });
  assert.equal(classifyKafkaError(wrapped('TOPIC_AUTHORIZATION_FAILED', 'Not authorized to access topics')).kind, 'authorization');
  assert.equal(classifyKafkaError(wrapped('TOPIC_AUTHORIZATION_FAILED')).retriable, false);
  assert.deepEqual(classifyKafkaError(new Error('connect ECONNREFUSED 127.0.0.1:9092')), { kind: 'connection', type: undefined, retriable: true });
});
