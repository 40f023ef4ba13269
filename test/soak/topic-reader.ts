// Reads the frames topic for the soak with kcat (librdkafka), partition by
// partition from the next unread offset: no consumer group to rebalance or
// lose when the broker is killed, and a read that fails is simply tried again.
import { execFile } from 'node:child_process';
import type { TopicRecord } from './ledger.js';

export interface TopicReader {
  /** Reads what is new on every partition; resolves to the count of new records (0 when the broker did not answer). */
  poll(): Promise<number>;
  failedReads(): number;
}

/** Header `name` from kcat's `%h` (comma-separated name=value; frameline's header values hold no commas). */
function header(headers: string, name: string): string | undefined {
  for (const part of headers.split(',')) if (part.startsWith(`${name}=`)) return part.slice(name.length + 1);
  return undefined;
}

/**
 * kcat with config `kcatConfig` (-F) on `topic`, partitions 0..partitions-1;
 * each record with frameline headers goes to `onRecord`. A read is cut after
 * `timeoutMs` (kcat waits for a broker that is down); complete lines count.
 */
export function createTopicReader(kcatConfig: string, topic: string, partitions: number, onRecord: (r: TopicRecord) => void, timeoutMs = 60_000): TopicReader {
  const next = Array.from({ length: partitions }, () => 0);
  let failed = 0;
  const readPartition = (p: number) =>
    new Promise<number>((resolve) => {
      execFile('kcat', ['-F', kcatConfig, '-C', '-t', topic, '-p', String(p), '-o', String(next[p]), '-e', '-q', '-f', '%o\t%h\n'],
        { timeout: timeoutMs, maxBuffer: 1 << 28, encoding: 'utf8' },
        (err, stdout) => {
          if (err) failed++;
          let n = 0;
          const lines = stdout.split('\n');
          lines.pop(); // unterminated (or empty) last piece
          for (const line of lines) {
            const [offset, headers = ''] = line.split('\t');
            const o = Number(offset);
            if (!Number.isInteger(o) || o < next[p]!) continue;
            next[p] = o + 1;
            n++;
            const camera = header(headers, 'fl-camera');
            const run = header(headers, 'fl-run');
            const seq = Number(header(headers, 'fl-seq'));
            if (camera && run && Number.isInteger(seq)) onRecord({ partition: p, offset: o, camera, run, seq });
          }
          resolve(n);
        });
    });
  return {
    async poll() {
      let n = 0;
      for (let p = 0; p < partitions; p++) n += await readPartition(p);
      return n;
    },
    failedReads: () => failed,
  };
}
