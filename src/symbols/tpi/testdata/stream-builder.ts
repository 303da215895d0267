/**
 * Builds TPI/IPI stream bytes by hand, for the malformed inputs no compiler
 * or LLVM tool will write: the fixed header, then records padded to 4 bytes
 * with LF_PAD filler as real writers do.
 */

export function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}

export function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}

export function cstr(s: string): number[] {
  return [...Buffer.from(s, 'utf8'), 0];
}

/** One record: length, leaf, body, then LF_PAD3..LF_PAD1 up to a 4-byte boundary. */
export function record(leaf: number, body: number[]): number[] {
  const content = [...u16(leaf), ...body];
  while ((content.length + 2) % 4 !== 0) content.push(0xf0 | (4 - ((content.length + 2) % 4)));
  return [...u16(content.length), ...content];
}

export interface HeaderFields {
  version?: number;
  headerSize?: number;
  begin?: number;
  /** Defaults to begin + number of records. */
  end?: number;
  /** Defaults to the bytes of the records given. */
  recordBytes?: number;
  hashStream?: number;
  hashKeySize?: number;
  buckets?: number;
  hashValues?: [number, number];
  indexOffsets?: [number, number];
  hashAdj?: [number, number];
}

export function typeStream(records: number[][], fields: HeaderFields = {}): Uint8Array {
  const body = records.flat();
  const begin = fields.begin ?? 0x1000;
  const header = [
    ...u32(fields.version ?? 20040203),
    ...u32(fields.headerSize ?? 56),
    ...u32(begin),
    ...u32(fields.end ?? begin + records.length),
    ...u32(fields.recordBytes ?? body.length),
    ...u16(fields.hashStream ?? 0xffff),
    ...u16(0xffff),
    ...u32(fields.hashKeySize ?? 4),
    ...u32(fields.buckets ?? 0x3ffff),
    ...(fields.hashValues ?? [0, 0]).flatMap(u32),
    ...(fields.indexOffsets ?? [0, 0]).flatMap(u32),
    ...(fields.hashAdj ?? [0, 0]).flatMap(u32),
  ];
  return new Uint8Array([...header, ...body]);
}
