// Parsers for human-friendly config values. Pure functions so they are
// testable without convict and reusable by CLI flags.

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const BYTE_UNITS: Record<string, number> = {
  b: 1, kb: 1000, mb: 1000 ** 2, gb: 1000 ** 3,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
  k: 1024, m: 1024 ** 2, g: 1024 ** 3,
};

/** "250ms", "30s", "5m", "1.5h", or a number of milliseconds. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
    if (m) return Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? 'ms').toLowerCase()]!);
  }
  throw new Error('must be a duration like "250ms", "30s", "5m", "2h" or a number of milliseconds');
}

/** "64MiB", "512KB", "2g", or a number of bytes. */
export function parseByteSize(value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = BYTE_UNITS[(m?.[2] || 'b').toLowerCase()];
    if (m && unit !== undefined) return Math.round(Number(m[1]) * unit);
  }
  throw new Error('must be a byte size like "512KiB", "64MiB", "2GB" or a number of bytes');
}

/** Splits "host:port" or "[v6]:port" at the last colon; the host comes back without brackets. No validation: config did that. */
export function splitHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  return { host: address.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(address.slice(i + 1)) };
}

/** "host:port,host:port" or an array of such strings. */
export function parseBootstrap(value: unknown): string[] {
  const list = typeof value === 'string' ? value.split(',') : value;
  if (!Array.isArray(list) || list.length === 0) throw new Error('must be a list of host:port addresses');
  return list.map((entry) => {
    const text = String(entry).trim();
    const m = /^(\[[0-9a-f:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new Error(`"${text}" is not a host:port address`);
    }
    return text;
  });
}
