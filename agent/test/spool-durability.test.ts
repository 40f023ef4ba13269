// The spool's cursor and segment files across restarts that skip close()
// (a killed agent): ids are never reused below the cursor, and a cursor
// that is missing, torn or left as a temporary file never costs a frame.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, encodeFrame } from '@frameline/shared';
import { openSpool, type Spool, type SpoolOptions } from '../src/delivery/spool.js';
import type { SpoolRecord } from '../src/delivery/spool-record.js';

const logger = createLogger({ level: 'error', journald: false });

function record(seq: number): SpoolRecord {
  const m = encodeFrame({ camera: 'CAMERA-2', run: 'run-d', seq, capturedAt: 1_700_000_000_000 + seq, width: 8, height: 8, jpeg: Buffer.alloc(300, seq) });
  return { key: m.key, value: m.value, timestamp: m.timestamp, headers: m.headers };
}

const opts = (dir: string, fsync: SpoolOptions['fsync'] = 'always'): SpoolOptions => ({
  dir, maxBytes: 10 << 20, maxAgeMs: 0, segmentBytes: 2000, fsync, fsyncIntervalMs: 1000, maxPendingBytes: 1 << 20,
});

async function drain(spool: Spool): Promise<number[]> {
  const out: number[] = [];
  for (let b = await spool.read(100, 1 << 20); b; b = await spool.read(100, 1 << 20)) {
    out.push(...b.records.map((r) => Number(r.headers['fl-seq'])));
    await spool.ack(b);
  }
  return out;
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'fl-spool-durable-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('after the spool emptied, a killed agent\'s new segments are not mistaken for acknowledged ones', async () => {
  await withDir(async (dir) => {
    const first = await openSpool(opts(dir), { logger });
    for (let i = 0; i < 12; i++) first.append(record(i));
    assert.equal((await drain(first)).length, 12);
    await first.close();
    // Reopened, the last (fully acknowledged) segment is deleted: no segment is left, the cursor names the next id.
    const second = await openSpool(opts(dir), { logger });
    assert.deepEqual(await drain(second), []);
    await second.close();
    assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.seg')), []);
    const cursor = JSON.parse(await readFile(join(dir, 'head'), 'utf8')) as { segment: number };

    const third = await openSpool(opts(dir), { logger });
    for (let i = 12; i < 20; i++) third.append(record(i));
    await third.flush(); // written and fsynced, then the process is killed: no ack, no close
    const ids = (await readdir(dir)).filter((n) => n.endsWith('.seg')).map((n) => Number(n.slice(0, 16)));
    assert.ok(ids.every((id) => id >= cursor.segment), `new segments ${ids.join(',')} are at or above the cursor's ${cursor.segment}`);

    const fourth = await openSpool(opts(dir), { logger });
    assert.deepEqual(await drain(fourth), [12, 13, 14, 15, 16, 17, 18, 19]);
    await fourth.close();
  });
});

test('a torn cursor or a leftover temporary cursor resends from the oldest segment instead of losing frames', async () => {
  for (const damage of ['torn', 'tmp-only'] as const) {
    await withDir(async (dir) => {
      const spool = await openSpool(opts(dir, 'interval'), { logger });
      for (let i = 0; i < 10; i++) spool.append(record(i));
      const batch = (await spool.read(3, 1 << 20))!;
      await spool.ack(batch, 2); // the first segment holds more than two: it stays on disk
      await spool.close();
      const head = join(dir, 'head');
      if (damage === 'torn') await writeFile(head, '{"segment":');
      else {
        // Killed between writing the new cursor and renaming it: the old cursor is what counts.
        await writeFile(`${head}.tmp`, '{"segment":99,"off');
      }
      const reopened = await openSpool(opts(dir, 'interval'), { logger });
      const seqs = await drain(reopened);
      await reopened.close();
      if (damage === 'torn') assert.deepEqual(seqs, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'everything on disk resent: duplicates, no gaps');
      else assert.deepEqual(seqs, [2, 3, 4, 5, 6, 7, 8, 9], 'the renamed cursor still holds');
    });
  }
});
