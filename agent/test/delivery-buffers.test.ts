// The buffers behind delivery's one interface (accept, take, ack, reject),
// without a broker: the memory buffer with each kind of overflow, and the
// spool buffer on a real directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, encodeFrame, recordSize } from '@frameline/shared';
import { createMemoryBuffer, type Batch, type FrameBuffer, type Item } from '../src/delivery/buffer.js';
import { createSpoolBuffer } from '../src/delivery/spool-buffer.js';
import type { DropReason } from '../src/delivery/types.js';

const logger = createLogger({ level: 'error', journald: false });

function item(seq: number, size = 200): Item {
  const jpeg = Buffer.alloc(size, seq % 251);
  const msg = encodeFrame({ camera: 'CAMERA-1', run: 'run-b', seq, capturedAt: 1_700_000_000_000 + seq, width: 8, height: 8, jpeg });
  return { msg: { key: msg.key, value: msg.value, timestamp: msg.timestamp, headers: msg.headers }, size: recordSize(msg), submittedAt: seq };
}

const seqs = (b: Batch | undefined): number[] =>
  b === undefined ? [] : (b.from === 'memory' ? b.items.map((i) => i.msg) : b.spooled.records).map((r) => Number(r.headers['fl-seq']));
const all = (r: unknown[]) => r.length;
const ANY = { frames: 100, bytes: 1 << 20 };

function counter() {
  const dropped: Partial<Record<DropReason, number>> = {};
  return { dropped, drop: (reason: DropReason, n: number) => (dropped[reason] = (dropped[reason] ?? 0) + n) };
}

async function drain(buffer: FrameBuffer): Promise<number[]> {
  const out: number[] = [];
  for (;;) {
    const b = await buffer.take(ANY, (r) => r.length);
    if (!b) return out;
    out.push(...seqs(b));
    await buffer.ack(b, Number.MAX_SAFE_INTEGER);
  }
}

test('memory (live wiring): the oldest frames beyond the bound are dropped as queueFull; a failed batch is dropped as sendFailed', async () => {
  const c = counter();
  const memory = createMemoryBuffer({ maxFrames: 3, maxBytes: 1 << 20 }, { to: 'drop' }, c.drop);
  for (let i = 0; i < 5; i++) {
    memory.accept(item(i));
    memory.trimOldest();
  }
  assert.deepEqual(c.dropped, { queueFull: 2 });
  const batch = await memory.take({ frames: 2, bytes: 1 << 20 }, (r) => r.length);
  assert.deepEqual(seqs(batch), [2, 3]);
  assert.equal(memory.inFlight(), true);
  assert.equal(memory.reject(batch!, 'undeliverable'), undefined, 'nowhere to keep it');
  assert.deepEqual(c.dropped, { queueFull: 2, sendFailed: 2 });
  assert.equal(memory.inFlight(), false);
  assert.deepEqual(await drain(memory), [4]);
});

test('memory: fit() keeps part of what is offered, ack returns nothing, resend puts the batch back at the front', async () => {
  const memory = createMemoryBuffer({ maxFrames: 10, maxBytes: 1 << 20 }, { to: 'drop' }, counter().drop);
  for (let i = 0; i < 6; i++) memory.accept(item(i));
  const first = await memory.take({ frames: 4, bytes: 1 << 20 }, (r) => {
    assert.equal(r.length, 4, 'offered at most limit.frames');
    return 3;
  });
  assert.deepEqual(seqs(first), [0, 1, 2]);
  assert.deepEqual(memory.size().frames, 3);
  memory.accept(item(6));
  assert.equal(memory.reject(first!, 'resend'), memory);
  assert.deepEqual(await drain(memory), [0, 1, 2, 3, 4, 5, 6]);
});

test('memory (reliable wiring): spill and an undeliverable batch go to the overflow buffer in order; evacuate puts abandoned frames first', async () => {
  const c = counter();
  const overflow = createMemoryBuffer({ maxFrames: 100, maxBytes: 1 << 20 }, { to: 'drop' }, c.drop);
  const memory = createMemoryBuffer({ maxFrames: 3, maxBytes: 1 << 20 }, { to: 'buffer', buffer: overflow }, c.drop);
  for (let i = 0; i < 4; i++) memory.accept(item(i));
  const inFlight = await memory.take({ frames: 2, bytes: 1 << 20 }, all);
  assert.equal(memory.reject(inFlight!, 'undeliverable'), overflow);
  memory.spill('queueFull');
  assert.equal(memory.size().frames, 0);
  for (let i = 4; i < 7; i++) memory.accept(item(i));
  await memory.take({ frames: 1, bytes: 1 << 20 }, all); // frame 4, never answered
  memory.evacuate();
  assert.equal(memory.inFlight(), false);
  assert.deepEqual(await drain(overflow), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(c.dropped, {}, 'nothing lost');
});

test('spool buffer: frames stay until acknowledged; a rejected or partly acknowledged batch is taken again from the first unacknowledged frame', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-spool-buffer-'));
  try {
    const spool = createSpoolBuffer({ dir, fsync: 'never', maxAgeMs: 0 }, logger);
    assert.equal(spool.accept(item(0)), false, 'refuses frames before open()');
    await spool.open();
    for (let i = 0; i < 8; i++) assert.equal(spool.accept(item(i)), true);
    const a = await spool.take({ frames: 5, bytes: 1 << 20 }, (r) => r.length - 1);
    assert.deepEqual(seqs(a), [0, 1, 2, 3], 'fit() kept four of five');
    assert.equal(spool.reject(a!, 'undeliverable'), spool, 'the spool keeps what it could not send');
    const again = await spool.take({ frames: 5, bytes: 1 << 20 }, all);
    assert.deepEqual(seqs(again), [0, 1, 2, 3, 4]);
    await spool.ack(again!, 2);
    assert.equal(spool.size().frames, 6);
    assert.deepEqual(await drain(spool), [2, 3, 4, 5, 6, 7]);
    assert.equal(spool.size().frames, 0);
    await spool.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('spool buffer: frames whose write is under way still count in size(), frames and bytes, from accept() until acknowledged', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-spool-buffer-'));
  try {
    const spool = createSpoolBuffer({ dir, fsync: 'never', maxAgeMs: 0 }, logger);
    await spool.open();
    for (let i = 0; i < 3; i++) spool.accept(item(i));
    const queued = spool.size();
    // The spool's setImmediate has taken the three into a write; the disk has not answered yet.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(spool.size(), queued, 'counted while being written');
    assert.deepEqual(await drain(spool), [0, 1, 2]);
    assert.deepEqual(spool.size(), { frames: 0, bytes: 0 });
    await spool.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
