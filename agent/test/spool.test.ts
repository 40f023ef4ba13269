// The reliable mode's on-disk spool, without a broker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate, open, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createLogger, encodeFrame } from '@frameline/shared';
import { openSpool, type SpoolOptions } from '../src/delivery/spool.js';
import type { SpoolRecord } from '../src/delivery/spool-record.js';

function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { logger: createLogger({ level: 'warn', stream, journald: false }), lines };
}

function record(seq: number, size = 1000): SpoolRecord {
  const jpeg = Buffer.alloc(size, seq % 251);
  jpeg[0] = 0xff;
  jpeg[1] = 0xd8;
  const m = encodeFrame({ camera: 'CAMERA-1', run: 'run-a', seq, capturedAt: 1_700_000_000_000 + seq * 100.5, width: 64, height: 48, motion: 0.25, jpeg });
  return { key: m.key, value: m.value, timestamp: m.timestamp, headers: m.headers };
}

const seqOf = (r: SpoolRecord) => Number(r.headers['fl-seq']);

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fl-spool-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function opts(dir: string, over: Partial<SpoolOptions> = {}): SpoolOptions {
  return { dir, maxBytes: 10 << 20, maxAgeMs: 0, segmentBytes: 1 << 20, fsync: 'never', fsyncIntervalMs: 1000, maxPendingBytes: 8 << 20, ...over };
}

/** Reads and acknowledges everything, returning the records in order. */
async function drainAll(spool: Awaited<ReturnType<typeof openSpool>>): Promise<SpoolRecord[]> {
  const out: SpoolRecord[] = [];
  for (;;) {
    const batch = await spool.read(7, 64 << 10);
    if (!batch) return out;
    out.push(...batch.records);
    await spool.ack(batch);
  }
}

const segmentFiles = async (dir: string) => (await readdir(dir)).filter((n) => n.endsWith('.seg')).sort();

test('spool returns the complete records (key, headers, timestamp, value) in order and is empty once acknowledged', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const spool = await openSpool(opts(dir, { fsync: 'always' }), { logger });
    const written = Array.from({ length: 20 }, (_, i) => record(i, 500 + i));
    for (const r of written) assert.equal(spool.append(r), true);
    assert.equal(spool.frames(), 20);
    const read = await drainAll(spool);
    assert.deepEqual(read, written);
    assert.equal(spool.frames(), 0);
    assert.equal(spool.stats().bytes, 0);
    await spool.close();
  });
});

test('spool rotates segments at segmentBytes and reads across them in order', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const spool = await openSpool(opts(dir, { segmentBytes: 5000 }), { logger });
    for (let i = 0; i < 30; i++) spool.append(record(i));
    await spool.flush();
    const files = await segmentFiles(dir);
    assert.ok(files.length >= 6, `expected several segments, got ${files.length}`);
    for (const f of files) assert.ok((await stat(join(dir, f))).size <= 5000);
    const read = await drainAll(spool);
    assert.deepEqual(read.map(seqOf), Array.from({ length: 30 }, (_, i) => i));
    // Every segment but the one being written is gone once acknowledged.
    assert.ok((await segmentFiles(dir)).length <= 1);
    await spool.close();
  });
});

test('a torn last record (file cut mid-record) is detected, skipped and counted; the records before it survive', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const spool = await openSpool(opts(dir), { logger });
    for (let i = 0; i < 10; i++) spool.append(record(i));
    await spool.close();
    const [file] = await segmentFiles(dir);
    const path = join(dir, file!);
    const size = (await stat(path)).size;
    await truncate(path, size - 300); // power loss in the middle of the last record

    const second = capturingLogger();
    const reopened = await openSpool(opts(dir), { logger: second.logger });
    assert.equal(reopened.stats().tornRecordsSkipped, 1);
    assert.equal(reopened.frames(), 9);
    assert.ok(second.lines.some((l) => /torn record/.test(l)), 'the torn record is logged');
    assert.deepEqual((await drainAll(reopened)).map(seqOf), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
    await reopened.close();
  });
});

test('a torn tail whose length is intact but whose bytes are not fails its CRC and is skipped', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const spool = await openSpool(opts(dir), { logger });
    for (let i = 0; i < 5; i++) spool.append(record(i));
    await spool.close();
    const [file] = await segmentFiles(dir);
    const fh = await open(join(dir, file!), 'r+');
    const { size } = await fh.stat();
    await fh.write(Buffer.alloc(200), 0, 200, size - 200); // zeroed pages after power loss
    await fh.close();
    const reopened = await openSpool(opts(dir), { logger });
    assert.equal(reopened.stats().tornRecordsSkipped, 1);
    assert.deepEqual((await drainAll(reopened)).map(seqOf), [0, 1, 2, 3]);
    await reopened.close();
  });
});

test('a corrupt record in the middle is caught by its CRC on read; the rest of that segment is skipped and counted', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const spool = await openSpool(opts(dir, { segmentBytes: 6000 }), { logger });
    for (let i = 0; i < 10; i++) spool.append(record(i));
    await spool.close();
    const [first] = await segmentFiles(dir);
    const fh = await open(join(dir, first!), 'r+');
    await fh.write(Buffer.from([0x00, 0x11, 0x22]), 0, 3, 1500); // inside record 1's value
    await fh.close();
    const reopened = await openSpool(opts(dir, { segmentBytes: 6000 }), { logger });
    // Four records per segment: 1..3 share the corrupt record's segment and are skipped with it.
    assert.deepEqual((await drainAll(reopened)).map(seqOf), [0, 4, 5, 6, 7, 8, 9]);
    assert.equal(reopened.stats().tornRecordsSkipped, 3);
    await reopened.close();
  });
});

test('the byte limit evicts the oldest whole segments, counts the frames, and keeps the newest in order', async () => {
  await withDir(async (dir) => {
    const { logger, lines } = capturingLogger();
    const spool = await openSpool(opts(dir, { maxBytes: 40_000, segmentBytes: 10_000 }), { logger });
    for (let i = 0; i < 100; i++) spool.append(record(i));
    await spool.flush();
    const s = spool.stats();
    assert.ok(s.bytes <= 40_000, `spool holds ${s.bytes} bytes, limit 40000`);
    assert.ok(s.evictedSegments > 0);
    assert.equal(s.evictedFrames + s.frames, 100, 'every frame is either kept or counted as evicted');
    const seqs = (await drainAll(spool)).map(seqOf);
    assert.equal(seqs[seqs.length - 1], 99);
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => 100 - seqs.length + i));
    assert.ok(lines.some((l) => /evicted the oldest segment/.test(l)));
    await spool.close();
  });
});

test('the age limit evicts segments whose newest record is older than maxAgeMs', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    let clock = Date.now();
    const spool = await openSpool(opts(dir, { maxAgeMs: 60_000, segmentBytes: 5000 }), { logger, now: () => clock });
    for (let i = 0; i < 10; i++) spool.append(record(i));
    await spool.flush();
    clock += 30_000;
    for (let i = 10; i < 20; i++) spool.append(record(i));
    await spool.flush();
    clock += 45_000; // the first ten are 75 s old, the others 45 s
    await spool.enforceLimits();
    // Four records per segment: 0-3 and 4-7 are old; 8-11 shares a segment with newer records and stays.
    assert.equal(spool.stats().evictedFrames, 8);
    assert.equal(spool.stats().evictedSegments, 2);
    assert.deepEqual((await drainAll(spool)).map(seqOf), Array.from({ length: 12 }, (_, i) => 8 + i));
    clock += 60_000;
    for (let i = 20; i < 22; i++) spool.append(record(i));
    await spool.enforceLimits();
    assert.equal(spool.frames(), 2, 'fresh records are kept');
    await spool.close();
  });
});

test('after a restart the spool resumes at the first unacknowledged record with the same records', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const spool = await openSpool(opts(dir, { segmentBytes: 13_000 }), { logger });
    const written = Array.from({ length: 25 }, (_, i) => record(i));
    for (const r of written) spool.append(r);
    const batch = (await spool.read(8, 1 << 20))!;
    assert.equal(batch.records.length, 8);
    await spool.ack(batch, 5); // the broker has 0..4 only
    await spool.close();

    const reopened = await openSpool(opts(dir, { segmentBytes: 13_000 }), { logger });
    assert.equal(reopened.frames(), 20);
    reopened.append(record(25));
    const read = await drainAll(reopened);
    assert.deepEqual(read, [...written.slice(5), record(25)]);
    await reopened.close();
  });
});

test('a segment is deleted only after every record in it is acknowledged', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const spool = await openSpool(opts(dir, { segmentBytes: 3700 }), { logger });
    for (let i = 0; i < 9; i++) spool.append(record(i)); // three per segment (1226 bytes each)
    await spool.flush();
    const before = await segmentFiles(dir);
    assert.equal(before.length, 3);

    const batch = (await spool.read(3, 1 << 20))!;
    assert.deepEqual(batch.records.map(seqOf), [0, 1, 2]);
    assert.deepEqual(await segmentFiles(dir), before, 'reading deletes nothing');
    await spool.ack(batch, 2);
    assert.deepEqual(await segmentFiles(dir), before, 'a partly acknowledged segment stays');
    await spool.ack(batch, 3);
    assert.deepEqual(await segmentFiles(dir), before.slice(1), 'the fully acknowledged segment is gone');

    // Unacknowledged reads are handed out again.
    const again = (await spool.read(3, 1 << 20))!;
    assert.deepEqual(again.records.map(seqOf), [3, 4, 5]);
    assert.deepEqual((await spool.read(3, 1 << 20))!.records.map(seqOf), [3, 4, 5]);
    await spool.close();
  });
});

test('appends beyond the write backlog are refused rather than growing memory', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const spool = await openSpool(opts(dir, { maxPendingBytes: 5000 }), { logger });
    const results = Array.from({ length: 10 }, (_, i) => spool.append(record(i)));
    assert.ok(results.includes(false), 'some appends were refused');
    assert.equal(results.indexOf(false), results.filter(Boolean).length, 'refusals come after the accepted ones');
    await spool.close();
  });
});

// Restarts that skip close() (a killed agent): segment ids are never reused
// below the cursor, and a missing, torn or temporary cursor costs no frame.

test('after the spool emptied, a killed agent\'s new segments are not mistaken for acknowledged ones', async () => {
  await withDir(async (dir) => {
    const { logger } = capturingLogger();
    const first = await openSpool(opts(dir, { segmentBytes: 2000, fsync: 'always' }), { logger });
    for (let i = 0; i < 12; i++) first.append(record(i));
    assert.equal((await drainAll(first)).length, 12);
    await first.close();
    // Reopened, the last (fully acknowledged) segment is deleted: no segment is left, the cursor names the next id.
    const second = await openSpool(opts(dir, { segmentBytes: 2000, fsync: 'always' }), { logger });
    assert.deepEqual((await drainAll(second)).map(seqOf), []);
    await second.close();
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.seg')), []);
    const cursor = JSON.parse(await readFile(join(dir, 'head'), 'utf8')) as { segment: number };

    const third = await openSpool(opts(dir, { segmentBytes: 2000, fsync: 'always' }), { logger });
    for (let i = 12; i < 20; i++) third.append(record(i));
    await third.flush(); // written and fsynced, then the process is killed: no ack, no close
    const ids = (await readdir(dir)).filter((n) => n.endsWith('.seg')).map((n) => Number(n.slice(0, 16)));
    assert.ok(ids.every((id) => id >= cursor.segment), `new segments ${ids.join(',')} are at or above the cursor's ${cursor.segment}`);

    const fourth = await openSpool(opts(dir, { segmentBytes: 2000, fsync: 'always' }), { logger });
    assert.deepEqual((await drainAll(fourth)).map(seqOf), [12, 13, 14, 15, 16, 17, 18, 19]);
    await fourth.close();
  });
});

test('a torn cursor or a leftover temporary cursor resends from the oldest segment instead of losing frames', async () => {
  for (const damage of ['torn', 'tmp-only'] as const) {
    await withDir(async (dir) => {
      const { logger } = capturingLogger();
      const spool = await openSpool(opts(dir, { segmentBytes: 5000, fsync: 'interval' }), { logger });
      for (let i = 0; i < 10; i++) spool.append(record(i));
      const batch = (await spool.read(3, 1 << 20))!;
      await spool.ack(batch, 2); // four records per segment: the first stays on disk
      await spool.close();
      const head = join(dir, 'head');
      if (damage === 'torn') await writeFile(head, '{"segment":');
      else {
        // Killed between writing the new cursor and renaming it: the old cursor is what counts.
        await writeFile(`${head}.tmp`, '{"segment":99,"off');
      }
      const reopened = await openSpool(opts(dir, { segmentBytes: 5000, fsync: 'interval' }), { logger });
      const seqs = (await drainAll(reopened)).map(seqOf);
      await reopened.close();
      if (damage === 'torn') assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'everything on disk resent: duplicates, no gaps');
      else assert.deepEqual(seqs, [2, 3, 4, 5, 6, 7, 8, 9], 'the renamed cursor still holds');
    });
  }
});
