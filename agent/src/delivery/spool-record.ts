// On-disk form of one spooled frame record. The spool keeps the complete
// Kafka record (key, headers, timestamp, value), so a frame drained later is
// byte-for-byte the record that would have been sent live.
//
// Framing per record: u32 payload length, u32 CRC32 of the payload, payload.
// Payload: u8 version, u16 key length + key, u16 timestamp length + timestamp,
// u16 header count + (u16 name length + name, u32 value length + value)...,
// u32 value length + value. All integers big-endian.
import zlib from 'node:zlib';
import type { FrameMessage } from '@frameline/shared';

export type SpoolRecord = Omit<FrameMessage, 'partition'>;

export const RECORD_HEADER_BYTES = 8;
const VERSION = 1;
/** Anything longer is a corrupt length field, not a frame. */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function tableCrc32(data: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// zlib.crc32 arrived in Node 20.15; the table version covers older 20.x.
const zlibCrc32 = (zlib as unknown as { crc32?: (data: Uint8Array) => number }).crc32;
export const crc32: (data: Uint8Array) => number = zlibCrc32 ? (d) => zlibCrc32(d) >>> 0 : tableCrc32;

/** The framed bytes of one record, ready to append to a segment. */
export function encodeSpoolRecord(record: SpoolRecord): Buffer {
  const key = record.key;
  const ts = Buffer.from(record.timestamp, 'latin1');
  const headers = Object.entries(record.headers).map(([k, v]) => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8')] as const);
  let size = 1 + 2 + key.length + 2 + ts.length + 2 + 4 + record.value.length;
  for (const [k, v] of headers) size += 2 + k.length + 4 + v.length;
  const out = Buffer.allocUnsafe(RECORD_HEADER_BYTES + size);
  let o = RECORD_HEADER_BYTES;
  o = out.writeUInt8(VERSION, o);
  o = out.writeUInt16BE(key.length, o);
  o += key.copy(out, o);
  o = out.writeUInt16BE(ts.length, o);
  o += ts.copy(out, o);
  o = out.writeUInt16BE(headers.length, o);
  for (const [k, v] of headers) {
    o = out.writeUInt16BE(k.length, o);
    o += k.copy(out, o);
    o = out.writeUInt32BE(v.length, o);
    o += v.copy(out, o);
  }
  o = out.writeUInt32BE(record.value.length, o);
  record.value.copy(out, o);
  out.writeUInt32BE(size, 0);
  out.writeUInt32BE(crc32(out.subarray(RECORD_HEADER_BYTES)), 4);
  return out;
}

/** Decodes a payload whose CRC already matched; throws on a malformed layout. */
export function decodeSpoolPayload(payload: Buffer): SpoolRecord {
  let o = 0;
  const take = (n: number): Buffer => {
    if (o + n > payload.length) throw new Error('spool record payload is shorter than its fields');
    const b = payload.subarray(o, o + n);
    o += n;
    return b;
  };
  const version = take(1).readUInt8(0);
  if (version !== VERSION) throw new Error(`spool record version ${version} is not ${VERSION}`);
  const key = Buffer.from(take(take(2).readUInt16BE(0)));
  const timestamp = take(take(2).readUInt16BE(0)).toString('latin1');
  const count = take(2).readUInt16BE(0);
  const headers: Record<string, string> = {};
  for (let i = 0; i < count; i++) {
    const name = take(take(2).readUInt16BE(0)).toString('utf8');
    headers[name] = take(take(4).readUInt32BE(0)).toString('utf8');
  }
  // Copy: the payload is a view into a read buffer that the caller reuses.
  const value = Buffer.from(take(take(4).readUInt32BE(0)));
  return { key, value, timestamp, headers };
}
