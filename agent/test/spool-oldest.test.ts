// The spool's oldest unacknowledged frame (its capture time), which the
// status record reports as spool.oldestAgeMs: exact after appends, reads,
// partial and whole acknowledgements, evictions and a reopen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, encodeFrame } from '@frameline/shared';
import { openSpool, type SpoolOptions } from '../src/delivery/spool.js';
import type { SpoolRecord } from '../src/delivery/spool-record.js';

const T0 = 1_700_000_000_000;
const logger = createLogger({ level: 'error', journald: false, stream: new Writable({ write: (_c, _e, cb) => cb() }) });

function record(seq: number, size = 1000): SpoolRecord {
  const jpeg = Buffer.alloc(size, seq % 251);
  jpeg[0] = 0xff;
  jpeg[1] = 0xd8;
  const m = encodeFrame({ camera: 'CAMERA-1', run: 'run-a', seq, capturedAt: T0 + seq * 1000, width: 64, height: 48, jpeg });
  return { key: m.key, value: m.value, timestamp: m.timestamp, headers: m.headers };
}

function opts(dir: string, over: Partial<SpoolOptions> = {}): SpoolOptions {
  return { dir, maxBytes: 10 << 20, maxAgeMs: 0, segmentBytes: 1 << 20, fsync: 'never', fsyncIntervalMs: 1000, maxPendingBytes: 8 << 20, ...over };
}

test('oldestAt follows the head: empty, append, partial ack, whole ack, drained, reopened', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-spool-oldest-'));
  try {
    const spool = await openSpool(opts(dir), { logger });
    assert.equal(spool.stats().oldestAt, null);
    for (let i = 0; i < 10; i++) assert.ok(spool.append(record(i)));
    assert.equal(spool.stats().oldestAt, T0, 'known at once, before the write');
    const batch = (await spool.read(4, 1 << 20))!;
    await spool.ack(batch, 2);
    assert.equal(spool.stats().oldestAt, T0 + 2000, 'partial ack: the next record');
    const rest = (await spool.read(3, 1 << 20))!;
    await spool.ack(rest);
    assert.ok(spool.stats().oldestAt! >= T0 + 4000 && spool.stats().oldestAt! <= T0 + 5000, 'whole ack: within one frame of the head');
    await spool.read(1, 1);
    assert.equal(spool.stats().oldestAt, T0 + 5000, 'exact after the next read');
    await spool.close();

    const reopened = await openSpool(opts(dir), { logger });
    assert.equal(reopened.stats().oldestAt, T0 + 5000, 'read back from disk on open');
    for (;;) {
      const b = await reopened.read(10, 1 << 20);
      if (!b) break;
      await reopened.ack(b);
    }
    assert.equal(reopened.stats().oldestAt, null, 'drained');
    await reopened.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('oldestAt moves on when the byte limit evicts the oldest segment', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fl-spool-oldest-'));
  try {
    // 10 KiB segments of ~5 records; 40 KiB limit: older segments go.
    const spool = await openSpool(opts(dir, { maxBytes: 40 << 10, segmentBytes: 10 << 10 }), { logger });
    for (let i = 0; i < 60; i++) spool.append(record(i, 2000));
    await spool.flush();
    await spool.enforceLimits();
    const s = spool.stats();
    assert.ok(s.evictedFrames > 0, `evicted ${s.evictedFrames}`);
    const head = (await spool.read(1, 1))!;
    assert.equal(s.oldestAt, Number(head.records[0]!.timestamp), 'the oldest left, not an evicted one');
    await spool.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
