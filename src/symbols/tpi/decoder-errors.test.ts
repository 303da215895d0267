/**
 * Hand-built streams for what no toolchain writes: malformed headers and
 * records, loops through LF_INDEX and through type references, unknown
 * kinds, padding oddities, unsupported numeric leaves, and the hash adjuster
 * table. Expected values come from the cvinfo.h layouts.
 */
import { SymbolFormatError } from '../format-error';
import { decodeTypeHashes } from './hash-stream';
import { LeafKind } from './leaf-kinds';
import { describeSimpleType, formatTypeIndex, simpleTypeName, simpleTypeSize } from './simple-types';
import { readTypeStreamHeader } from './stream-header';
import { decodeTypeStream } from './type-stream';
import { TypeTable } from './type-table';
import { cstr, record, typeStream, u16, u32 } from './testdata/stream-builder';
import { catchFormatError } from '../testing/catch-format-error';


const MEMBER_INT = (name: string, offset: number): number[] => [...u16(LeafKind.LF_MEMBER), ...u16(3), ...u32(0x74), ...u16(offset), ...cstr(name)];
const ENUMERATE = (name: string, leafAndValue: number[]): number[] => [...u16(LeafKind.LF_ENUMERATE), ...u16(3), ...leafAndValue, ...cstr(name)];

describe('simple type indices', () => {
  test.each([
    [0x0074, 'int', 4],
    [0x0674, 'int*', 8],
    [0x0474, 'int*', 4],
    [0x0003, 'void', undefined],
    [0x0603, 'void*', 8],
    [0x0070, 'char', 1],
    [0x0020, 'unsigned char', 1],
    [0x0023, 'unsigned __int64', 8],
    [0x0013, '__int64', 8],
    [0x0040, 'float', 4],
    [0x0041, 'double', 8],
    [0x0030, 'bool', 1],
    [0x0071, 'wchar_t', 2],
    [0x0075, 'unsigned', 4],
    [0x0103, 'std::nullptr_t', 8],
    [0x0000, '<no type>', undefined],
    [0x00ff, '<unknown simple type>', undefined],
  ])('0x%s is %s of %s bytes', (ti, name, size) => {
    expect(simpleTypeName(ti)).toBe(name);
    expect(simpleTypeSize(ti)).toBe(size);
  });

  test('mode and base are split out', () => {
    expect(describeSimpleType(0x0674)).toMatchObject({ kind: 0x74, mode: 'near64', baseName: 'int', known: true });
    expect(formatTypeIndex(0x0674)).toBe('0x0674 (int*)');
    expect(formatTypeIndex(0x100a)).toBe('0x100A');
    expect(formatTypeIndex(0)).toBe('<no type>');
  });
});

describe('stream header', () => {
  test('reads every field', () => {
    const data = typeStream([], { hashStream: 9, hashValues: [1, 2], indexOffsets: [3, 8], hashAdj: [11, 0] });
    expect(readTypeStreamHeader(data, 'TPI')).toEqual({
      version: 20040203,
      headerSize: 56,
      typeIndexBegin: 0x1000,
      typeIndexEnd: 0x1000,
      typeRecordBytes: 0,
      hashStreamIndex: 9,
      hashAuxStreamIndex: 0xffff,
      hashKeySize: 4,
      numHashBuckets: 0x3ffff,
      hashValueBuffer: { offset: 1, length: 2 },
      indexOffsetBuffer: { offset: 3, length: 8 },
      hashAdjBuffer: { offset: 11, length: 0 },
    });
  });

  test.each([
    ['a truncated header', () => typeStream([]).subarray(0, 40), /need 4 bytes/],
    ['a header size below 56', () => typeStream([], { headerSize: 20 }), /header size 20/],
    ['a header size past the stream', () => typeStream([], { headerSize: 4096 }), /exceeds/],
    ['a first index below 0x1000', () => typeStream([], { begin: 0x800 }), /simple type/],
    ['an end before the begin', () => typeStream([], { end: 0xfff }), /precedes/],
    ['more records than bytes could hold', () => typeStream([], { end: 0xffffffff }), /cannot fit/],
    ['record bytes past the stream', () => typeStream([], { recordBytes: 1000 }), /do not fit/],
  ])('rejects %s', (_what, make, message) => {
    const err = catchFormatError(() => decodeTypeStream(make(), 'IPI'));
    expect(err.message).toMatch(message);
    expect(err.location.part).toBe('IPI stream header');
  });
});

describe('record walk', () => {
  test('a zero-length record is an error, not an endless loop', () => {
    const data = typeStream([[0, 0, 0, 0]]);
    const err = catchFormatError(() => decodeTypeStream(data, 'TPI'));
    expect(err.location).toEqual({ file: 'PDB', part: 'TPI record 0x1000', offset: 0 });
    expect(err.message).toMatch(/record length 0 is too short/);
  });

  test('a record running past the end names the record', () => {
    const good = record(LeafKind.LF_LABEL, u16(0));
    const data = typeStream([good, [...u16(200), ...u16(LeafKind.LF_LABEL)]]);
    const err = catchFormatError(() => decodeTypeStream(data, 'TPI'));
    expect(err.location.part).toBe('TPI record 0x1001');
    expect(err.message).toMatch(/runs past the end/);
  });

  test('a truncated body reports the offset inside the record', () => {
    // LF_POINTER needs 8 bytes of body; give it 4.
    const data = typeStream([record(LeafKind.LF_POINTER, u32(0x74))]);
    const err = catchFormatError(() => decodeTypeStream(data, 'TPI'));
    expect(err.location).toEqual({ file: 'PDB', part: 'TPI record 0x1000', offset: 8 });
  });

  test('bytes after the last counted record are an error', () => {
    const label = record(LeafKind.LF_LABEL, u16(0));
    const err = catchFormatError(() => decodeTypeStream(typeStream([label, label], { end: 0x1001 }), 'TPI'));
    expect(err.message).toMatch(/follow the last of 1 records/);
  });

  test('an index list longer than its record is refused before allocating', () => {
    const data = typeStream([record(LeafKind.LF_ARGLIST, [...u32(0x7fffffff), ...u32(0x74)])]);
    expect(catchFormatError(() => decodeTypeStream(data, 'TPI')).message).toMatch(/2147483647 type indices do not fit/);
  });

  test('unknown kinds keep their bytes and do not shift later indices', () => {
    const data = typeStream([record(0x1234, [1, 2, 3, 4]), record(LeafKind.LF_LABEL, u16(4))]);
    const { records } = decodeTypeStream(data, 'TPI');
    expect(records[0]).toMatchObject({ kind: 'unknown', leaf: 0x1234, index: 0x1000 });
    expect(records[0]!.kind === 'unknown' && Array.from(records[0]!.raw)).toEqual([1, 2, 3, 4]);
    expect(records[1]).toMatchObject({ kind: 'LF_LABEL', mode: 'far', index: 0x1001, offset: 8 });
  });

  test('LF_LABEL, LF_INTERFACE without unique name, LF_UDT_MOD_SRC_LINE decode', () => {
    const iface = [...u16(1), ...u16(0), ...u32(0x1003), ...u32(0), ...u32(0), ...u16(16), ...cstr('IFoo')];
    const data = typeStream([
      record(LeafKind.LF_LABEL, u16(0)),
      record(LeafKind.LF_INTERFACE, iface),
      record(LeafKind.LF_UDT_MOD_SRC_LINE, [...u32(0x1001), ...u32(42), ...u32(7), ...u16(3)]),
      record(LeafKind.LF_FIELDLIST, MEMBER_INT('x', 4)),
    ]);
    const { records } = decodeTypeStream(data, 'TPI');
    expect(records[0]).toMatchObject({ kind: 'LF_LABEL', mode: 'near' });
    expect(records[1]).toMatchObject({ kind: 'LF_INTERFACE', name: 'IFoo', size: 16, memberCount: 1, fieldList: 0x1003 });
    expect(records[1]).not.toHaveProperty('uniqueName');
    expect(records[2]).toMatchObject({ kind: 'LF_UDT_MOD_SRC_LINE', udt: 0x1001, sourceFile: 42, line: 7, module: 3 });
    const table = new TypeTable(decodeTypeStream(data, 'TPI'));
    expect(table.fieldsOf(0x1001)).toEqual([expect.objectContaining({ kind: 'LF_MEMBER', name: 'x', offset: 4 })]);
    expect(table.cTypeName(0x1001)).toBe('interface IFoo');
  });
});

describe('field lists', () => {
  test('every numeric leaf width decodes, signed ones as negative', () => {
    const list = [
      ENUMERATE('small', u16(0x7fff)),
      ENUMERATE('char', [...u16(0x8000), 0xfb]),
      ENUMERATE('short', [...u16(0x8001), ...u16(0xfc18)]),
      ENUMERATE('ushort', [...u16(0x8002), ...u16(0x9c40)]),
      ENUMERATE('long', [...u16(0x8003), ...u32(0xfffe7960)]),
      ENUMERATE('ulong', [...u16(0x8004), ...u32(0xb2d05e00)]),
      ENUMERATE('quad', [...u16(0x8009), ...u32(0), ...u32(0xffffff00)]),
      ENUMERATE('uquad', [...u16(0x800a), ...u32(0xffffffff), ...u32(0xffffffff)]),
    ].flatMap((m) => {
      const padded = [...m];
      while (padded.length % 4 !== 0) padded.push(0xf0 | (4 - (padded.length % 4)));
      return padded;
    });
    const { records } = decodeTypeStream(typeStream([record(LeafKind.LF_FIELDLIST, list)]), 'TPI');
    const members = records[0]!.kind === 'LF_FIELDLIST' ? records[0]!.members : [];
    expect(members.map((m) => (m.kind === 'LF_ENUMERATE' ? [m.name, m.value] : m.kind))).toEqual([
      ['small', 0x7fffn],
      ['char', -5n],
      ['short', -1000n],
      ['ushort', 40000n],
      ['long', -100000n],
      ['ulong', 3000000000n],
      ['quad', -(2n ** 40n)],
      ['uquad', 2n ** 64n - 1n],
    ]);
  });

  test('LF_PAD0 between members skips one byte instead of looping', () => {
    const list = [...MEMBER_INT('a', 0), 0xf0, ...MEMBER_INT('b', 4)];
    const { records } = decodeTypeStream(typeStream([record(LeafKind.LF_FIELDLIST, list)]), 'TPI');
    expect(records[0]!.kind === 'LF_FIELDLIST' && records[0]!.members.map((m) => m.kind === 'LF_MEMBER' && m.name)).toEqual(['a', 'b']);
  });

  test('padding that claims more bytes than remain is an error', () => {
    const body = [...u16(LeafKind.LF_FIELDLIST), ...MEMBER_INT('ab', 0), 0xfd];
    const data = typeStream([[...u16(body.length), ...body]]);
    expect(catchFormatError(() => decodeTypeStream(data, 'TPI')).message).toMatch(/padding 0xfd runs past the end/);
  });

  test('an unknown member kind ends the list and keeps the rest raw', () => {
    const list = [...MEMBER_INT('a', 0), ...u16(0x1555), 9, 9, 9, 9];
    const { records } = decodeTypeStream(typeStream([record(LeafKind.LF_FIELDLIST, list)]), 'TPI');
    const members = records[0]!.kind === 'LF_FIELDLIST' ? records[0]!.members : [];
    expect(members).toHaveLength(2);
    expect(members[1]).toMatchObject({ kind: 'unknown', leaf: 0x1555 });
    expect(Array.from((members[1] as { raw: Uint8Array }).raw.subarray(0, 6))).toEqual([0x55, 0x15, 9, 9, 9, 9]);
  });

  test('an unsupported numeric leaf is a format error', () => {
    const list = [...u16(LeafKind.LF_MEMBER), ...u16(3), ...u32(0x74), ...u16(0x8005), ...u32(0), ...cstr('f')];
    const err = catchFormatError(() => decodeTypeStream(typeStream([record(LeafKind.LF_FIELDLIST, list)]), 'TPI'));
    expect(err.message).toMatch(/unsupported numeric leaf 0x8005/);
    expect(err.location).toEqual({ file: 'PDB', part: 'TPI record 0x1000', offset: 12 });
  });

  test('an LF_INDEX loop is reported, not followed forever', () => {
    const index = (to: number): number[] => [...u16(LeafKind.LF_INDEX), ...u16(0), ...u32(to)];
    const data = typeStream([
      record(LeafKind.LF_FIELDLIST, [...MEMBER_INT('a', 0), ...index(0x1001)]),
      record(LeafKind.LF_FIELDLIST, [...MEMBER_INT('b', 4), ...index(0x1000)]),
      record(LeafKind.LF_FIELDLIST, index(0x1002)),
      record(LeafKind.LF_FIELDLIST, index(0x0074)),
    ]);
    const table = new TypeTable(decodeTypeStream(data, 'TPI'));
    expect(catchFormatError(() => table.fieldMembers(0x1000)).message).toMatch(/continuation 0x1000 loops/);
    expect(catchFormatError(() => table.fieldMembers(0x1002)).message).toMatch(/loops/);
    expect(catchFormatError(() => table.fieldMembers(0x1003)).message).toMatch(/0x74 is not a field list/);
  });
});

describe('type references', () => {
  test('cycles end in a format error from every helper', () => {
    const data = typeStream([
      record(LeafKind.LF_MODIFIER, [...u32(0x1000), ...u16(1)]),
      record(LeafKind.LF_POINTER, [...u32(0x1002), ...u32(0x1000c)]),
      record(LeafKind.LF_ARRAY, [...u32(0x1001), ...u32(0x23), ...u16(16), ...cstr('')]),
      record(LeafKind.LF_SUBSTR_LIST, [...u32(2), ...u32(0x1003), ...u32(0x1003)]),
    ]);
    const table = new TypeTable(decodeTypeStream(data, 'TPI'));
    for (const ti of [0x1000, 0x1001, 0x1002]) expect(() => table.cTypeName(ti)).toThrow(SymbolFormatError);
    expect(() => table.nameOf(0x1000)).toThrow(SymbolFormatError);
    expect(() => table.nameOf(0x1003)).toThrow(SymbolFormatError);
    // LLVM names an array by its own (empty) name, so the pointer's name does not loop.
    expect(table.nameOf(0x1001)).toBe('*');
    expect(() => table.sizeOf(0x1000)).toThrow(SymbolFormatError);
    // The array knows its own size without following the element.
    expect(table.sizeOf(0x1002)).toBe(16);
  });

  test('names stay bounded when argument lists nest', () => {
    // Each procedure takes four of the previous one: the full name would grow as 4^n.
    const records: number[][] = [];
    let previous = 0x0074;
    for (let i = 0; i < 40; i++) {
      const list = 0x1000 + records.length;
      records.push(record(LeafKind.LF_ARGLIST, [...u32(4), ...u32(previous), ...u32(previous), ...u32(previous), ...u32(previous)]));
      previous = 0x1000 + records.length;
      records.push(record(LeafKind.LF_PROCEDURE, [...u32(0x74), 0, 0, ...u16(4), ...u32(list)]));
    }
    const table = new TypeTable(decodeTypeStream(typeStream(records), 'TPI'));
    const started = Date.now();
    expect(table.nameOf(previous).length).toBeLessThan(5000);
    expect(table.cTypeName(previous).length).toBeLessThan(5000);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a forward reference with no definition resolves to itself', () => {
    const fwd = [...u16(0), ...u16(0x80), ...u32(0), ...u32(0), ...u32(0), ...u16(0), ...cstr('Lonely')];
    const table = new TypeTable(decodeTypeStream(typeStream([record(LeafKind.LF_STRUCTURE, fwd)]), 'TPI'));
    expect(table.resolveForwardRef(0x1000)).toBe(0x1000);
    expect(table.sizeOf(0x1000)).toBeUndefined();
    expect(table.cDeclaration(0x1000, 'x')).toBe('struct Lonely x');
  });

  test('references outside the stream are named, not thrown', () => {
    const table = new TypeTable(decodeTypeStream(typeStream([record(LeafKind.LF_POINTER, [...u32(0x5000), ...u32(0x1000c)])]), 'TPI'));
    expect(table.nameOf(0x1000)).toBe('<unknown UDT>*');
    expect(table.cTypeName(0x1000)).toBe('<type 0x5000> *');
    expect(table.sizeOf(0x1000)).toBe(8);
    expect(table.get(0x5000)).toBeUndefined();
  });
});

describe('hash stream', () => {
  const header = (values: [number, number], offsets: [number, number], adj: [number, number], keySize = 4) =>
    readTypeStreamHeader(typeStream([], { hashValues: values, indexOffsets: offsets, hashAdj: adj, hashKeySize: keySize }), 'TPI');

  test('hash values, index offsets and adjusters decode', () => {
    const table = [
      ...u32(2), // size
      ...u32(64), // capacity
      ...u32(2), ...u32(0x00000001), ...u32(0x80000000), // present: buckets 0 and 63
      ...u32(0), // deleted: empty
      ...u32(100), ...u32(0x1005),
      ...u32(200), ...u32(0x1007),
    ];
    const stream = new Uint8Array([...u32(7), ...u32(9), ...u32(0x1000), ...u32(0), ...table]);
    const hashes = decodeTypeHashes(stream, header([0, 8], [8, 8], [16, table.length]), 'TPI');
    expect(hashes).toEqual({
      hashValues: [7, 9],
      indexOffsets: [{ index: 0x1000, offset: 0 }],
      adjusters: [
        { nameOffset: 100, index: 0x1005 },
        { nameOffset: 200, index: 0x1007 },
      ],
    });
  });

  test('a huge capacity costs nothing; inconsistent tables are errors', () => {
    const table = (size: number, capacity: number, word: number): number[] => [
      ...u32(size), ...u32(capacity), ...u32(1), ...u32(word), ...u32(0), ...u32(1), ...u32(0x1001),
    ];
    const decode = (bytes: number[]) => decodeTypeHashes(new Uint8Array(bytes), header([0, 0], [0, 0], [0, bytes.length]), 'TPI');
    expect(decode(table(1, 0xffffffff, 1)).adjusters).toEqual([{ nameOffset: 1, index: 0x1001 }]);
    expect(catchFormatError(() => decode(table(2, 64, 1))).message).toMatch(/claims 2 entries but marks 1/);
    expect(catchFormatError(() => decode(table(1, 4, 0x100))).message).toMatch(/beyond the capacity 4/);
    expect(catchFormatError(() => decode([...u32(0), ...u32(0), ...u32(0x40000000)])).message).toMatch(/does not fit/);
  });

  test('buffers outside the hash stream and odd key sizes are errors', () => {
    const stream = new Uint8Array(16);
    expect(catchFormatError(() => decodeTypeHashes(stream, header([8, 16], [0, 0], [0, 0]), 'IPI')).message).toMatch(/outside/);
    expect(catchFormatError(() => decodeTypeHashes(stream, header([0, 8], [-4, 8], [0, 0]), 'IPI')).message).toMatch(/outside/);
    expect(catchFormatError(() => decodeTypeHashes(stream, header([0, 6], [0, 0], [0, 0]), 'IPI')).message).toMatch(/multiple of 4/);
    expect(catchFormatError(() => decodeTypeHashes(stream, header([0, 8], [0, 0], [0, 0], 2), 'IPI')).message).toMatch(/key size 2/);
  });
});
