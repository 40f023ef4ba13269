// Forwards a child process's stderr to the logger line by line. Lines are
// capped in length so a process that never writes a newline cannot grow
// memory (readline has no such bound).
import type { Readable } from 'node:stream';
import type { Logger } from '@frameline/shared';

const MAX_LINE = 2000;

export type LineLevel = 'debug' | 'info' | 'warn';

/** Default for rpicam-vid / ffmpeg: errors loud, per-frame progress quiet, the rest info. */
export function classifyCameraLine(line: string): LineLevel {
  if (/\berror\b|\bfailed\b|\bfatal\b/i.test(line)) return 'warn';
  if (/^#\d+ \(/.test(line) || /^frame=\s*\d+/.test(line)) return 'debug';
  // ffmpeg's scaler notes on every start of a replay
  if (/^\[swscaler @/.test(line)) return 'debug';
  if (/\bWARN/.test(line)) return 'warn';
  return 'info';
}

export function logLines(
  stream: Readable,
  log: Logger,
  fields: Record<string, unknown>,
  options: { classify?: (line: string) => LineLevel; quiet?: () => boolean } = {},
): void {
  const classify = options.classify ?? classifyCameraLine;
  let pending = '';
  const emit = (line: string): void => {
    const text = line.replace(/\r/g, '').trimEnd();
    // While we stop the process it complains about its closed pipe: expected, not news.
    if (text) log[options.quiet?.() ? 'debug' : classify(text)](text, fields);
  };
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      emit(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > MAX_LINE) {
      emit(pending.slice(0, MAX_LINE) + ' [truncated]');
      pending = '';
    }
  });
  stream.on('end', () => emit(pending));
}
