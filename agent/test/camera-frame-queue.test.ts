// The bounded latest-wins queue between a source and its consumer.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createLatestQueue } from '../src/camera/frame-queue.js';
import { createCaptureClock } from '../src/camera/source.js';

describe('latest queue', () => {
  test('keeps the newest items when the consumer is slow and counts the dropped ones', async () => {
    const queue = createLatestQueue<number>(3);
    for (let i = 0; i < 10; i++) queue.push(i);
    queue.close();
    const got: number[] = [];
    for await (const n of queue) got.push(n);
    assert.deepEqual(got, [7, 8, 9]);
    assert.equal(queue.dropped, 7);
  });

  test('hands items straight to a waiting consumer and ends after close', async () => {
    const queue = createLatestQueue<string>(1);
    const it = queue[Symbol.asyncIterator]();
    const first = it.next();
    queue.push('a');
    assert.deepEqual(await first, { done: false, value: 'a' });
    const second = it.next();
    queue.close();
    assert.equal((await second).done, true);
    queue.push('late');
    assert.equal(queue.size, 0, 'pushes after close are ignored');
  });

  test('a consumer that leaves early is released', async () => {
    const queue = createLatestQueue<number>(2);
    const it = queue[Symbol.asyncIterator]();
    const pending = it.next();
    await it.return?.();
    assert.equal((await pending).done, true);
  });
});

describe('capture clock', () => {
  test('is strictly increasing even when the wall clock repeats a millisecond', () => {
    const times = [1000, 1000, 1000, 1001];
    const clock = createCaptureClock(() => times.shift()!);
    const got = [clock(), clock(), clock(), clock()];
    for (let i = 1; i < got.length; i++) assert.ok(got[i]! > got[i - 1]!);
    assert.equal(got[3], 1001);
  });

  test('follows a wall clock that steps back by more than a second', () => {
    const times = [50_000, 10_000];
    const clock = createCaptureClock(() => times.shift()!);
    clock();
    assert.equal(clock(), 10_000);
  });
});
