/**
 * Minimal read-only FlatBuffers accessor: just enough to walk the TFLite
 * schema (tables, vectors of scalars/tables, strings, unions-as-tables).
 *
 * Layout reminder (little-endian):
 *  - the buffer starts with a uoffset (u32) to the root table;
 *  - a table starts with an soffset (i32) back to its vtable;
 *  - a vtable is [u16 vtableSize, u16 tableSize, u16 fieldOffset...];
 *  - reference fields (tables, vectors, strings) hold a u32 offset relative
 *    to the field's own position; vectors start with a u32 length.
 */
export class FbTable {
  constructor(
    readonly view: DataView,
    readonly pos: number,
  ) {}

  static root(bytes: Uint8Array): FbTable {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 8) throw new Error('buffer too small for a FlatBuffer');
    return new FbTable(view, view.getUint32(0, true));
  }

  /** Absolute position of field `id`'s data, or 0 when the field is absent. */
  private fieldPos(id: number): number {
    const vtable = this.pos - this.view.getInt32(this.pos, true);
    const vtableSize = this.view.getUint16(vtable, true);
    const entry = 4 + 2 * id;
    if (entry >= vtableSize) return 0;
    const off = this.view.getUint16(vtable + entry, true);
    return off === 0 ? 0 : this.pos + off;
  }

  has(id: number): boolean {
    return this.fieldPos(id) !== 0;
  }

  private deref(p: number): number {
    return p + this.view.getUint32(p, true);
  }

  u8(id: number, dflt = 0): number {
    const p = this.fieldPos(id);
    return p ? this.view.getUint8(p) : dflt;
  }

  i8(id: number, dflt = 0): number {
    const p = this.fieldPos(id);
    return p ? this.view.getInt8(p) : dflt;
  }

  bool(id: number, dflt = false): boolean {
    const p = this.fieldPos(id);
    return p ? this.view.getUint8(p) !== 0 : dflt;
  }

  i32(id: number, dflt = 0): number {
    const p = this.fieldPos(id);
    return p ? this.view.getInt32(p, true) : dflt;
  }

  u32(id: number, dflt = 0): number {
    const p = this.fieldPos(id);
    return p ? this.view.getUint32(p, true) : dflt;
  }

  f32(id: number, dflt = 0): number {
    const p = this.fieldPos(id);
    return p ? this.view.getFloat32(p, true) : dflt;
  }

  /** u64 read as a JS number (TFLite offsets stay far below 2^53). */
  u64(id: number, dflt = 0): number {
    const p = this.fieldPos(id);
    return p ? Number(this.view.getBigUint64(p, true)) : dflt;
  }

  string(id: number): string | undefined {
    const p = this.fieldPos(id);
    if (!p) return undefined;
    const s = this.deref(p);
    const len = this.view.getUint32(s, true);
    const bytes = new Uint8Array(this.view.buffer, this.view.byteOffset + s + 4, len);
    return new TextDecoder().decode(bytes);
  }

  table(id: number): FbTable | undefined {
    const p = this.fieldPos(id);
    return p ? new FbTable(this.view, this.deref(p)) : undefined;
  }

  /** Start (absolute, after the length word) and length of a vector field. */
  private vector(id: number): { start: number; length: number } | undefined {
    const p = this.fieldPos(id);
    if (!p) return undefined;
    const v = this.deref(p);
    return { start: v + 4, length: this.view.getUint32(v, true) };
  }

  tables(id: number): FbTable[] {
    const v = this.vector(id);
    if (!v) return [];
    const out: FbTable[] = [];
    for (let i = 0; i < v.length; i++) {
      const elem = v.start + 4 * i;
      out.push(new FbTable(this.view, elem + this.view.getUint32(elem, true)));
    }
    return out;
  }

  i32s(id: number): number[] | undefined {
    const v = this.vector(id);
    if (!v) return undefined;
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.view.getInt32(v.start + 4 * i, true));
    return out;
  }

  u16s(id: number): number[] | undefined {
    const v = this.vector(id);
    if (!v) return undefined;
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.view.getUint16(v.start + 2 * i, true));
    return out;
  }

  f32s(id: number): number[] | undefined {
    const v = this.vector(id);
    if (!v) return undefined;
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) out.push(this.view.getFloat32(v.start + 4 * i, true));
    return out;
  }

  i64s(id: number): number[] | undefined {
    const v = this.vector(id);
    if (!v) return undefined;
    const out: number[] = [];
    for (let i = 0; i < v.length; i++) out.push(Number(this.view.getBigInt64(v.start + 8 * i, true)));
    return out;
  }

  /** A [ubyte] vector as a zero-copy view into the underlying buffer. */
  bytes(id: number): Uint8Array | undefined {
    const v = this.vector(id);
    if (!v) return undefined;
    return new Uint8Array(this.view.buffer, this.view.byteOffset + v.start, v.length);
  }
}
