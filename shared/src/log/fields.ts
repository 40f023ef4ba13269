// Log fields are plain data. Whatever a call site passes (a ticket object
// with methods, a Buffer, a cyclic kafkajs error payload, a 3000-character
// camera id from a hostile record) is turned into bounded text here, so no
// line carries source code, megabytes or throws while being formatted.

/** Longest text one field prints; beyond it the value is cut and its length given. */
const MAX_FIELD_CHARS = 512;

const clip = (text: string): string => (text.length > MAX_FIELD_CHARS ? `${text.slice(0, MAX_FIELD_CHARS)}…(${text.length} chars)` : text);

function plain(v: unknown, seen: WeakSet<object>): unknown {
  if (typeof v === 'function') return '[function]';
  if (typeof v === 'bigint' || typeof v === 'symbol') return String(v);
  if (typeof v !== 'object' || v === null) return v;
  if (v instanceof Uint8Array) return `[${v.length} bytes]`;
  if (v instanceof Error) return v.message;
  if (seen.has(v)) return '[circular]';
  seen.add(v);
  // Objects that render themselves (a Secret, a Date) decide their own text.
  const own = (v as { toJSON?: unknown }).toJSON;
  if (typeof own === 'function') return plain(own.call(v), seen);
  if (Array.isArray(v)) return v.map((x) => plain(x, seen));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'function' && x !== undefined) out[k] = plain(x, seen);
  return out;
}

/**
 * One field's value as log text: strings bare when they are simple tokens
 * and JSON-quoted otherwise (so newlines and quotes cannot forge a line),
 * objects as JSON of their data only (functions dropped, Buffers as their
 * length, cycles marked), errors as their message; at most MAX_FIELD_CHARS.
 */
export function formatField(v: unknown): string {
  if (typeof v === 'string') return clip(/^[\w.:/@+-]*$/.test(v) && v !== '' ? v : JSON.stringify(v));
  const p = plain(v, new WeakSet());
  if (typeof p === 'string') return clip(v instanceof Error ? JSON.stringify(p) : p);
  if (typeof p === 'object' && p !== null) return clip(JSON.stringify(p));
  return String(p);
}
