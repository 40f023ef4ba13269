// The spool's head cursor (`head`: the first unacknowledged record, as
// segment id and byte offset) and the directory syncs that make segment
// files' creation, removal and the cursor's replacement survive power loss.
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';

export interface Cursor {
  segment: number;
  offset: number;
}

const CURSOR_FILE = 'head';

/** The cursor, or undefined when missing or torn: start from the oldest segment (resending beats losing). */
export async function readCursor(dir: string): Promise<Cursor | undefined> {
  try {
    const c = JSON.parse(await readFile(join(dir, CURSOR_FILE), 'utf8')) as { segment?: unknown; offset?: unknown };
    if (Number.isSafeInteger(c.segment) && Number.isSafeInteger(c.offset)) return { segment: c.segment as number, offset: c.offset as number };
  } catch {
    // Missing or torn: handled by the caller's default.
  }
  return undefined;
}

/**
 * Replaces the cursor atomically: a temporary file, written and (when
 * `sync`) fsynced, renamed over `head`. A crash leaves the old or the new
 * cursor, never a torn one. The rename itself is durable only once the
 * directory is synced (syncDir, now or on the caller's timer).
 */
export async function writeCursor(dir: string, cursor: Cursor, sync: boolean): Promise<void> {
  const file = join(dir, CURSOR_FILE);
  const fh = await open(`${file}.tmp`, 'w');
  try {
    await fh.writeFile(JSON.stringify(cursor));
    if (sync) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(`${file}.tmp`, file);
}

/** fsync of a directory: makes entries created, renamed or removed in it durable (POSIX leaves them in the page cache until then). */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
