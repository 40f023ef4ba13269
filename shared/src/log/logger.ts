// One winston logger per process, scoped children per component. Under
// systemd (stdout is the journal) each line starts with a syslog priority
// prefix so `journalctl -p warning` works; in a terminal lines are plain.
import { fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';
import winston from 'winston';
import { formatField } from './fields.js';

export type Level = 'error' | 'warn' | 'info' | 'debug';
export type Fields = Record<string, unknown>;

export interface Logger {
  error(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  debug(message: string, fields?: Fields): void;
  /** A logger for one component; its scope and fields go on every line. */
  child(scope: string, fields?: Fields): Logger;
  /** Never print this value again, in any logger of this tree. */
  redact(secret: string): void;
}

export interface LoggerOptions {
  level?: Level;
  /** Defaults to detecting the journal on stdout via $JOURNAL_STREAM. */
  journald?: boolean;
  stream?: Writable;
  scope?: string;
}

const PRIORITY: Record<Level, number> = { error: 3, warn: 4, info: 6, debug: 7 };
const SENSITIVE_FIELD = /pass(word)?|secret|token|credential|authorization|sasl/i;
const MASK = '***';

/** True when stdout is the journal: systemd sets JOURNAL_STREAM=dev:inode of it. */
function stdoutIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const js = env.JOURNAL_STREAM;
  if (!js) return false;
  try {
    const st = fstatSync(1);
    const [dev, ino] = js.split(':');
    return String(st.dev) === dev && String(st.ino) === ino;
  } catch {
    return false;
  }
}

function scrub(text: string, secrets: Set<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join(MASK);
  return out;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const journald = options.journald ?? stdoutIsJournal();
  const secrets = new Set<string>();
  const line = winston.format.printf((info) => {
    const { level, message, scope, timestamp: _t, ...fields } = info as winston.Logform.TransformableInfo & Fields;
    const parts: string[] = [];
    for (const [k, v] of Object.entries(fields)) {
      if (typeof k !== 'string' || v === undefined) continue;
      parts.push(`${k}=${SENSITIVE_FIELD.test(k) ? MASK : formatField(v)}`);
    }
    const body = `${scope ? `[${String(scope)}] ` : ''}${String(message)}${parts.length ? ' ' + parts.join(' ') : ''}`;
    const text = scrub(body.replace(/\n/g, '\\n'), secrets);
    if (journald) return `<${PRIORITY[level as Level] ?? 6}>${text}`;
    return `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${text}`;
  });
  const root = winston.createLogger({
    level: options.level ?? 'info',
    levels: { error: 0, warn: 1, info: 2, debug: 3 },
    format: line,
    transports: [new winston.transports.Stream({ stream: options.stream ?? process.stdout })],
  });

  const wrap = (w: winston.Logger, scope: string | undefined): Logger => ({
    error: (m, f) => void w.log('error', m, f),
    warn: (m, f) => void w.log('warn', m, f),
    info: (m, f) => void w.log('info', m, f),
    debug: (m, f) => void w.log('debug', m, f),
    child: (name, fields) => {
      const full = scope ? `${scope}/${name}` : name;
      return wrap(w.child({ ...fields, scope: full }), full);
    },
    redact: (secret) => void secrets.add(secret),
  });
  return options.scope ? wrap(root.child({ scope: options.scope }), options.scope) : wrap(root, undefined);
}
