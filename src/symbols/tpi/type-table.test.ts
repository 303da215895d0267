/**
 * The TypeTable helpers against independent oracles: type names of every
 * global variable against llvm-pdbutil's, sizes against sizeof as clang
 * computed it (the size_oracle enum in testdata/kinds.cpp), C declarations
 * against the declarations in the fixture sources, and layout invariants
 * (members inside their class, arrays a whole number of elements) over
 * every UDT of every PDB.
 */
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { TypeTable, isTagRecord } from './type-table';
import { buildKindsPdb, exportStream, llvmGlobals, stubPdb, type GlobalVariable } from './testdata/llvm-oracle';

interface Loaded {
  tpi: TypeTable;
  globals: GlobalVariable[];
}

const cache = new Map<string, Loaded>();
function load(pdb: string): Loaded {
  let loaded = cache.get(pdb);
  if (!loaded) {
    loaded = { tpi: TypeTable.fromBytes(exportStream(pdb, 2), 'TPI'), globals: llvmGlobals(pdb) };
    cache.set(pdb, loaded);
  }
  return loaded;
}

function globalType(loaded: Loaded, name: string): number {
  const found = loaded.globals.find((g) => g.name === name);
  if (!found) throw new Error(`no global ${name}`);
  return found.type;
}

const PDBS: [string, () => string][] = [
  ['symbol fixture', () => buildSymbolFixture().pdb],
  ['type-kinds fixture', buildKindsPdb],
  ['stub kernel', stubPdb],
];

describe.each(PDBS)('%s', (_name, pdb) => {
  test('every global variable type has the name llvm-pdbutil gives it', () => {
    const loaded = load(pdb());
    expect(loaded.globals.length).toBeGreaterThan(3);
    const ours = loaded.globals.map((g) => {
      const name = loaded.tpi.nameOf(g.type);
      // The symbol dumper cuts names after 32 characters.
      return { name: g.name, typeName: name.length > 32 ? `${name.slice(0, 32)}...` : name };
    });
    const theirs = loaded.globals.map((g) => ({
      name: g.name,
      // LLVM 14 has no name for the 0x14/0x24 128-bit kinds; later LLVM calls them __int128, as we do.
      typeName: g.type === 0x14 ? '__int128' : g.type === 0x24 ? 'unsigned __int128' : g.typeName,
    }));
    expect(ours).toEqual(theirs);
  });

  test('every data member lies inside its class, and arrays hold whole elements', () => {
    const { tpi } = load(pdb());
    let members = 0;
    for (const record of tpi.all()) {
      if (isTagRecord(record) && record.kind !== 'LF_ENUM' && !record.properties.forwardReference) {
        for (const member of tpi.fieldsOf(record.index)) {
          if (member.kind !== 'LF_MEMBER') continue;
          const size = tpi.sizeOf(member.type);
          // Flexible and variable-length arrays take no space.
          if (size === undefined) continue;
          expect({ type: record.name, member: member.name, end: member.offset + size <= record.size }).toEqual({
            type: record.name,
            member: member.name,
            end: true,
          });
          members++;
        }
      }
      if (record.kind === 'LF_ARRAY') {
        const element = tpi.sizeOf(record.elementType);
        if (element) expect(record.size % element).toBe(0);
      }
    }
    expect(members).toBeGreaterThan(5);
  });
});

describe('type-kinds fixture', () => {
  test('sizes match sizeof as the compiler computed it', () => {
    const loaded = load(buildKindsPdb());
    const oracle = loaded.tpi.all().find((r) => r.kind === 'LF_ENUM' && r.name === 'size_oracle');
    expect(oracle).toBeDefined();
    const entries = loaded.tpi.fieldsOf(oracle!.index).flatMap((m) => (m.kind === 'LF_ENUMERATE' ? [m] : []));
    expect(entries.length).toBeGreaterThan(30);
    const ours = entries.map((e) => ({ name: e.name, size: loaded.tpi.sizeOf(globalType(loaded, e.name.replace(/^SIZEOF_/, ''))) }));
    expect(ours).toEqual(entries.map((e) => ({ name: e.name, size: Number(e.value) })));
  });

  test('C declarations read like the source', () => {
    const loaded = load(buildKindsPdb());
    const expected: Record<string, string> = {
      g_int: 'int g_int',
      g_data_member_ptr: 'int Outer::*g_data_member_ptr',
      g_method_ptr: 'int (Overloads::*g_method_ptr)(int)',
      g_virtual_method_ptr: 'int (Diamond::*g_virtual_method_ptr)(void)',
      g_virtual_data_ptr: 'int Diamond::*g_virtual_data_ptr',
      g_lref: 'int &g_lref',
      g_rref: 'int &&g_rref',
      g_restrict: 'int *__restrict g_restrict',
      // clang 14 drops __unaligned from CodeView (llvm-pdbutil shows 'int*' too).
      g_unaligned: 'int *g_unaligned',
      g_cv_ptr: 'int *const volatile g_cv_ptr',
      g_cv: 'const volatile int g_cv',
      g_strings: 'const char *const g_strings[2][3]',
      g_callbacks: 'int (*g_callbacks[4])(int, ...)',
      g_vectorcall: 'int (*g_vectorcall)(double)',
      g_opaque: 'struct Opaque *g_opaque',
      g_wide: 'enum Wide g_wide',
      g_signed: 'enum Signed g_signed',
      g_big: 'struct Big g_big',
      g_packed: 'struct Packed g_packed',
      g_many: 'enum Many g_many',
      g_diamond: 'struct Diamond g_diamond',
      g_overloads: 'struct Overloads g_overloads',
      g_outer: 'struct Outer g_outer',
      g_wchar: 'wchar_t g_wchar',
      g_char16: 'char16_t g_char16',
      g_char32: 'char32_t g_char32',
      g_bool: 'bool g_bool',
      g_schar: 'signed char g_schar',
      g_ushort: 'unsigned short g_ushort',
      g_short: 'short g_short',
      g_ulong: 'unsigned long g_ulong',
      g_longlong: '__int64 g_longlong',
      // MSVC's long double is a double, and clang's CodeView says so.
      g_long_double: 'double g_long_double',
      g_double: 'double g_double',
      g_int128: '__int128 g_int128',
      g_void_ptr: 'void *g_void_ptr',
      g_nullptr: 'std::nullptr_t g_nullptr',
    };
    const ours = Object.fromEntries(
      Object.keys(expected).map((name) => [name, loaded.tpi.cDeclaration(globalType(loaded, name), name)]),
    );
    expect(ours).toEqual(expected);
    expect(loaded.tpi.cTypeName(globalType(loaded, 'g_callbacks'))).toBe('int (*[4])(int, ...)');
    expect(loaded.tpi.cTypeName(globalType(loaded, 'g_strings'))).toBe('const char *const [2][3]');
    expect(loaded.tpi.cTypeName(globalType(loaded, 'g_outer'))).toBe('struct Outer');
  });

  test('a field list split by LF_INDEX reads back whole and in order', () => {
    const { tpi } = load(buildKindsPdb());
    const many = tpi.all().find((r) => r.kind === 'LF_ENUM' && r.name === 'Many');
    expect(many).toBeDefined();
    const first = tpi.get(many!.kind === 'LF_ENUM' ? many!.fieldList : 0);
    expect(first?.kind === 'LF_FIELDLIST' && first.members.some((m) => m.kind === 'LF_INDEX')).toBe(true);
    const enumerators = tpi.fieldsOf(many!.index);
    expect(enumerators).toHaveLength(3000);
    enumerators.forEach((m, i) => {
      const letter = 'ABC'[Math.floor(i / 1000)];
      expect(m).toMatchObject({
        kind: 'LF_ENUMERATE',
        value: BigInt(i),
        name: `MANY_ENUMERATOR_WITH_A_LONG_NAME_${letter}${String(i % 1000).padStart(3, '0')}`,
      });
    });
  });

  test('forward references resolve to their definitions, and unresolvable ones to themselves', () => {
    const { tpi } = load(buildKindsPdb());
    const byName = (name: string, forward: boolean): number =>
      tpi.all().find((r) => isTagRecord(r) && r.name === name && r.properties.forwardReference === forward)!.index;
    expect(tpi.resolveForwardRef(byName('Diamond', true))).toBe(byName('Diamond', false));
    expect(tpi.resolveForwardRef(byName('Outer::Inner', true))).toBe(byName('Outer::Inner', false));
    expect(tpi.resolveForwardRef(byName('Opaque', true))).toBe(byName('Opaque', true));
    // An anonymous nested union is found by its unique name (LLVM gives up on these).
    const union = '<unnamed-type-g_anonymous>::<unnamed-tag>';
    expect(tpi.resolveForwardRef(byName(union, true))).toBe(byName(union, false));
    expect(tpi.sizeOf(byName(union, true))).toBe(4);
    expect(tpi.sizeOf(byName('Opaque', true))).toBeUndefined();
    expect(tpi.fieldsOf(byName('Opaque', true))).toEqual([]);
    expect(tpi.fieldsOf(byName('Diamond', true)).map((m) => m.kind)).toEqual([
      'LF_BCLASS',
      'LF_BCLASS',
      'LF_IVBCLASS',
      'LF_MEMBER',
      'LF_ONEMETHOD',
    ]);
  });
});

describe('symbol fixture', () => {
  test('C declarations read like the source', () => {
    const loaded = load(buildSymbolFixture().pdb);
    const expected: Record<string, string> = {
      alpha_counter: 'int alpha_counter',
      alpha_message: 'const char alpha_message[17]',
      alpha_points: 'struct point alpha_points[4]',
      alpha_number: 'union number alpha_number',
      alpha_flags: 'struct flags alpha_flags',
      alpha_color: 'enum color alpha_color',
      beta_matrix: 'int beta_matrix[3][4]',
      beta_callback: 'int (*beta_callback)(int)',
    };
    const ours = Object.fromEntries(
      Object.keys(expected).map((name) => [name, loaded.tpi.cDeclaration(globalType(loaded, name), name)]),
    );
    expect(ours).toEqual(expected);
  });

  test('bitfields, unions and method types', () => {
    const { tpi } = load(buildSymbolFixture().pdb);
    const flags = tpi.all().find((r) => r.kind === 'LF_STRUCTURE' && r.name === 'flags' && !r.properties.forwardReference)!;
    expect(tpi.fieldsOf(flags.index).map((m) => (m.kind === 'LF_MEMBER' ? tpi.cDeclaration(m.type, m.name) : ''))).toEqual([
      'unsigned ready : 1',
      'unsigned level : 3',
      'unsigned spare : 4',
    ]);
    const area = tpi
      .all()
      .find((r) => r.kind === 'LF_MFUNCTION' && tpi.nameOf(r.classType) === 'josgdb_fixture::shapes::Shape' && r.parameterCount === 0);
    expect(area && tpi.cTypeName(area.index)).toBe('int (void) const');
  });
});
