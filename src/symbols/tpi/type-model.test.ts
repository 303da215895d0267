/**
 * The TPI-to-model translation checked against LLVM: every pointer,
 * modifier, array, struct, class, union, enum and function record of the
 * variable fixtures' PDBs (C and C++, -O0 and -O1) is translated and walked
 * side by side with `llvm-pdbutil dump --types` (model-oracle.ts). Then the
 * properties the model promises: forward references share their
 * definition's node, equal structures are one node, and anonymous members
 * come back as the source declared them.
 */
import { readFileSync } from 'node:fs';
import type { ModelStructType, ModelType, ModelTypeInfo, ModelTypeRef } from '../debug-model-types';
import { buildVariableFixture, type FixtureOptimization } from '../../dwarf/testing/variable-fixtures';
import { openPdb } from '../pdb/pdb-file';
import { buildKindsPdb, llvmDump, type DumpRecord } from './testdata/llvm-oracle';
import { ModelOracle } from './testdata/model-oracle';
import { vtableSlot, type AggregateRecord, type MethodEntry } from './aggregate-records';
import { ModelTypeTranslator } from './type-model';
import { TypeTable } from './type-table';

const CHECKED_KINDS = ['LF_POINTER', 'LF_MODIFIER', 'LF_ARRAY', 'LF_STRUCTURE', 'LF_CLASS', 'LF_UNION', 'LF_ENUM', 'LF_PROCEDURE', 'LF_MFUNCTION'];

interface Loaded {
  table: TypeTable;
  records: Map<number, DumpRecord>;
}

const loaded = new Map<FixtureOptimization, Loaded>();
function load(optimization: FixtureOptimization): Loaded {
  let l = loaded.get(optimization);
  if (!l) {
    const fixture = buildVariableFixture(optimization);
    const pdb = openPdb(readFileSync(fixture.pdb));
    const table = TypeTable.fromBytesLazy(pdb.tpiStream!, 'TPI');
    const records = new Map(llvmDump(fixture.pdb).tpi.records.map((r) => [r.index, r]));
    l = { table, records };
    loaded.set(optimization, l);
  }
  return l;
}

const byName = (info: ModelTypeInfo, name: string): { ref: ModelTypeRef; type: ModelType } => {
  const ref = info.types.findIndex((t) => 'name' in t && t.name === name && !(t.kind !== 'typedef' && 'declaration' in t && t.declaration));
  if (ref < 0) throw new Error(`no type named ${name}`);
  return { ref, type: info.types[ref]! };
};

describe.each(['O0', 'O1'] as const)('type translation of the -%s fixture', (optimization) => {
  test('every type record agrees with llvm-pdbutil dump --types', () => {
    const { table, records } = load(optimization);
    const translator = new ModelTypeTranslator(table, { language: 'c++' });
    const oracle = new ModelOracle(translator.info, records);
    const checked = new Map<string, number>();
    const problems: string[] = [];
    for (const r of records.values()) {
      if (!CHECKED_KINDS.includes(r.kind)) continue;
      const ref = translator.typeOf(r.index);
      problems.push(...oracle.check(ref, r.index));
      checked.set(r.kind, (checked.get(r.kind) ?? 0) + 1);
    }
    expect(problems).toEqual([]);
    // Each kind is present, so the comparison above covers it.
    for (const kind of CHECKED_KINDS) expect(checked.get(kind) ?? 0).toBeGreaterThan(0);
  });

  test('a forward reference and its definition are one type', () => {
    const { table, records } = load(optimization);
    const translator = new ModelTypeTranslator(table, { language: 'c' });
    const forwards = [...records.values()].filter((r) => /forward ref \(-> 0x([0-9A-F]+)\)/.test(r.lines.join(' ')));
    expect(forwards.length).toBeGreaterThan(5);
    for (const f of forwards) {
      const target = parseInt(/forward ref \(-> 0x([0-9A-F]+)\)/.exec(f.lines.join(' '))![1]!, 16);
      expect(translator.typeOf(f.index)).toBe(translator.typeOf(target));
    }
  });

  test('each distinct type is one node', () => {
    const { table, records } = load(optimization);
    const translator = new ModelTypeTranslator(table, { language: 'c' });
    for (const r of records.values()) if (CHECKED_KINDS.includes(r.kind)) translator.typeOf(r.index);
    // Structural types (everything but named aggregates and enums, which are nodes of their own) appear once.
    const keys = translator.info.types
      .filter((t) => t.kind !== 'struct' && t.kind !== 'class' && t.kind !== 'union' && t.kind !== 'enum')
      .map((t) => JSON.stringify(t));
    expect(new Set(keys).size).toBe(keys.length);
    // `int *` as a simple index (0x0674) and as LF_POINTER records is the same node.
    const intPointer = translator.typeOf(0x0674);
    const pointerRecords = [...records.values()].filter((r) => r.kind === 'LF_POINTER' && /referent = 0x0074 \(int\), mode = pointer, opts = None/.test(r.lines[0]!));
    for (const r of pointerRecords) expect(translator.typeOf(r.index)).toBe(intPointer);
  });

  test('only what is asked for is translated', () => {
    const { table } = load(optimization);
    const translator = new ModelTypeTranslator(table, { language: 'c' });
    translator.typeOf(0x0074);
    expect(translator.info.types).toEqual([{ kind: 'base', name: 'int', byteSize: 4, encoding: 'signed' }]);
  });
});

test('the type-decoder fixture (virtual bases, method lists, member pointers, LF_INDEX) agrees with llvm-pdbutil too', () => {
  const path = buildKindsPdb();
  const pdb = openPdb(readFileSync(path));
  const table = TypeTable.fromBytesLazy(pdb.tpiStream!, 'TPI');
  const records = new Map(llvmDump(path).tpi.records.map((r) => [r.index, r]));
  const translator = new ModelTypeTranslator(table, { language: 'c++' });
  const oracle = new ModelOracle(translator.info, records);
  const problems: string[] = [];
  let checked = 0;
  for (const r of records.values()) {
    if (!CHECKED_KINDS.includes(r.kind)) continue;
    problems.push(...oracle.check(translator.typeOf(r.index), r.index));
    checked++;
  }
  expect(problems).toEqual([]);
  expect(checked).toBeGreaterThan(50);
});

describe('what the source declares', () => {
  // Expectations from test/fixtures/variables/types.h and classes.cpp.
  const translated = (): ModelTypeInfo => {
    const { table, records } = load('O0');
    const translator = new ModelTypeTranslator(table, { language: 'c++' });
    for (const r of records.values()) if (CHECKED_KINDS.includes(r.kind)) translator.typeOf(r.index);
    return translator.info;
  };
  const memberNames = (info: ModelTypeInfo, t: ModelStructType): string[] =>
    t.members.map((m) => m.name ?? `{${(info.types[m.type] as ModelStructType).members.map((i) => i.name).join(',')}}`);

  test('an anonymous union is one unnamed member again', () => {
    const info = translated();
    const t = byName(info, 'with_anonymous').type as ModelStructType;
    expect(memberNames(info, t)).toEqual(['tag', '{as_int,as_float}', 'pair']);
    expect(t.members.map((m) => m.byteOffset)).toEqual([0, 4, 8]);
  });

  test('multi-dimensional arrays are one array with the dimensions in source order', () => {
    const info = translated();
    const t = byName(info, 'arrays').type as ModelStructType;
    const dims = (name: string): (number | undefined)[] => {
      const type = info.types[t.members.find((m) => m.name === name)!.type]!;
      return type.kind === 'array' ? type.dimensions : [];
    };
    expect(dims('one')).toEqual([3]);
    expect(dims('two')).toEqual([2, 3]);
    expect(dims('three')).toEqual([2, 3, 4]);
    const flexible = byName(info, 'flexible').type as ModelStructType;
    const items = info.types[flexible.members[1]!.type]!;
    expect(items).toMatchObject({ kind: 'array', dimensions: [undefined] });
  });

  test('bitfields keep their bit positions', () => {
    const info = translated();
    const t = byName(info, 'flags').type as ModelStructType;
    // ready:1, level:3, delta:4 share an unsigned int; small:2 its own byte; wide:40 and rest:24 share a 64-bit unit.
    expect(t.members.map((m) => [m.name, m.byteOffset, m.bitField?.bitOffset, m.bitField?.bitSize])).toEqual([
      ['ready', 0, 0, 1],
      ['level', 0, 1, 3],
      ['delta', 0, 4, 4],
      ['small', 4, 0, 2],
      ['wide', 8, 0, 40],
      ['rest', 8, 40, 24],
    ]);
  });

  test('enumerators of a signed underlying type keep their sign', () => {
    const info = translated();
    const kind = byName(info, 'outer::Derived::Kind').type;
    expect(kind.kind === 'enum' && kind.enumerators).toEqual([
      { name: 'Small', value: 1n },
      { name: 'Negative', value: -2n },
    ]);
    const balance = byName(info, 'balance').type;
    expect(balance.kind === 'enum' && balance.enumerators.map((e) => e.value)).toEqual([-5n, 0n, 0x7fffffffn]);
  });

  test('classes keep bases, access, static members, nested types and virtual methods', () => {
    const info = translated();
    const base = byName(info, 'outer::Base').type as ModelStructType;
    expect(base.kind).toBe('class');
    expect(base.members.map((m) => [m.name, m.access, m.isStatic ?? false, m.artificial ?? false])).toEqual([
      ['_vptr$Base', 'public', false, true],
      ['instances', 'public', true, false],
      ['value_', 'protected', false, false],
      ['secret_', 'private', false, false],
    ]);
    expect(base.methods.map((m) => [m.name, m.virtuality, m.vtableSlot])).toEqual([
      ['Base', 'none', undefined],
      ['get', 'virtual', 0],
    ]);
    const derived = byName(info, 'outer::Derived').type as ModelStructType;
    expect(derived.bases.map((b) => [info.types[b.type], b.byteOffset])).toEqual([[base, 0]]);
    expect(derived.nestedTypes.map((r) => (info.types[r] as { name?: string }).name)).toEqual([
      'outer::Derived::Nested',
      'outer::Derived::Mode',
      'outer::Derived::Kind',
    ]);
    // Derived::get overrides Base::get, so it takes its slot.
    expect(derived.methods.find((m) => m.name === 'get')).toMatchObject({ virtuality: 'virtual', vtableSlot: 0 });
  });

  test('a virtual method whose table offset is not a whole pointer (a damaged record) gets no slot', () => {
    // The DWARF writer encodes the slot as an unsigned LEB128: 12 / 8 would make it throw.
    const entry = { name: 'get', type: 0x1000, attributes: {} as MethodEntry['attributes'] };
    const noTable = {} as TypeTable;
    const owner = {} as AggregateRecord;
    expect(vtableSlot(noTable, owner, { ...entry, vtableOffset: 16 })).toBe(2);
    expect(vtableSlot(noTable, owner, { ...entry, vtableOffset: 12 })).toBeUndefined();
    expect(vtableSlot(noTable, owner, { ...entry, vtableOffset: -8 })).toBeUndefined();
  });

  test('S_UDT typedefs alias their type; a tag named after itself is a typedef in C only', () => {
    const { table, records } = load('O0');
    const pointDefinition = [...records.values()].find((r) => r.kind === 'LF_STRUCTURE' && r.head.includes('`point`') && !r.lines.join().includes('forward'))!;
    const c = new ModelTypeTranslator(table, { language: 'c' });
    const int = c.typeOf(0x0074);
    expect(c.info.types[c.typedef('myint', 0x0074)]).toEqual({ kind: 'typedef', name: 'myint', target: int });
    // C: `typedef struct { ... } point;` names the struct point, and only a typedef makes `point` a type name.
    expect(c.info.types[c.typedef('point', pointDefinition.index)]).toEqual({ kind: 'typedef', name: 'point', target: c.typeOf(pointDefinition.index) });
    // C++: `point` already names the struct.
    const cxx = new ModelTypeTranslator(table, { language: 'c++' });
    expect(cxx.typedef('point', pointDefinition.index)).toBe(cxx.typeOf(pointDefinition.index));
  });
});
