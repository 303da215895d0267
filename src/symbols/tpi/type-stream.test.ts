/**
 * Decodes the TPI and IPI streams of four PDBs (the shared C/C++ fixture, the
 * type-kinds fixture, the stub kernel, and a yaml2pdb file of kinds clang never
 * writes) and checks every record against two LLVM views of the same file:
 * `llvm-pdbutil dump` (rendered here in its exact text format, which also
 * checks names, forward-reference resolution and hash values) and `pdb2yaml`
 * (every raw field, attribute words recomposed from the decoded flags).
 */
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import type { FieldMember } from './field-list';
import { decodeTypeHashes, type TypeHashes } from './hash-stream';
import { leafKindName } from './leaf-kinds';
import { formatTypeIndex, type TypeIndex } from './simple-types';
import { decodeTypeStream, type TypeRecord, type TypeStream } from './type-stream';
import { TypeTable } from './type-table';
import type { ClassProperties, MemberAttributes, PointerAttributes } from './attributes';
import {
  buildKindsPdb,
  buildSyntheticPdb,
  exportStream,
  llvmDump,
  llvmYaml,
  stubPdb,
  type DumpRecord,
  type DumpSection,
  type Yaml,
  type YamlMap,
} from './testdata/llvm-oracle';

const fmt = formatTypeIndex;

// ---- llvm-pdbutil dump's text (MinimalTypeDumper.cpp) ----

function memberAttributes(a: MemberAttributes): string {
  const kinds: Record<string, string> = {
    vanilla: '',
    virtual: 'virtual',
    static: 'static',
    friend: 'friend',
    'intro-virtual': 'intro virtual',
    'pure-virtual': 'pure virtual',
    'pure-intro-virtual': 'pure intro virtual',
  };
  const parts = [a.access === 'none' ? '' : a.access, kinds[a.methodKind] ?? a.methodKind];
  if (a.pseudo) parts.push('pseudo');
  if (a.noInherit) parts.push('noinherit');
  if (a.noConstruct) parts.push('noconstruct');
  if (a.compilerGenerated) parts.push('compiler-generated');
  if (a.sealed) parts.push('sealed');
  return parts.filter((p) => p !== '').join(' ');
}

function pointerText(a: PointerAttributes): string {
  const modes: Record<string, string> = {
    pointer: 'pointer',
    'lvalue-reference': 'ref',
    'pointer-to-data-member': 'data member pointer',
    'pointer-to-member-function': 'member fn pointer',
    'rvalue-reference': 'rvalue ref',
  };
  const kinds: Record<string, string> = { near32: 'ptr32', far32: 'far ptr32', near64: 'ptr64', near16: 'ptr16' };
  const opts: string[] = [];
  if (a.isFlat32) opts.push('flat32');
  if (a.isVolatile) opts.push('volatile');
  if (a.isConst) opts.push('const');
  if (a.isUnaligned) opts.push('unaligned');
  if (a.isRestrict) opts.push('restrict');
  if (a.isMocom) opts.push('winrt');
  return `mode = ${modes[a.mode]}, opts = ${opts.join(' | ') || 'None'}, kind = ${kinds[a.kind] ?? a.kind}`;
}

/**
 * LLVM files definitions with anonymous names under a hash of the whole
 * record, so its lookup never finds them from a forward reference even when
 * the unique names match; ours does, and this is the one place the two differ.
 */
function llvmResolveForwardRef(table: TypeTable, index: TypeIndex): TypeIndex {
  const def = table.resolveForwardRef(index);
  const record = table.get(def);
  const name = record && 'name' in record ? record.name : '';
  return /(^|::)(<unnamed-tag>|__unnamed)$/.test(name) ? index : def;
}

function classOptions(p: ClassProperties, index: TypeIndex, table: TypeTable, lookup: boolean): string {
  const opts: string[] = [];
  if (p.forwardReference) {
    if (lookup) {
      const def = llvmResolveForwardRef(table, index);
      const dir = def === index ? '=' : def < index ? '<-' : '->';
      opts.push(`forward ref (${dir} ${fmt(def)})`);
    } else {
      opts.push('forward ref');
    }
  }
  if (p.hasConstructorOrDestructor) opts.push('has ctor / dtor');
  if (p.containsNestedClass) opts.push('contains nested class');
  if (p.hasConversionOperator) opts.push('conversion operator');
  if (p.hasUniqueName) opts.push('has unique name');
  if (p.intrinsic) opts.push('intrin');
  if (p.isNested) opts.push('is nested');
  if (p.hasOverloadedOperator) opts.push('overloaded operator');
  if (p.hasOverloadedAssignment) opts.push('overloaded operator=');
  if (p.packed) opts.push('packed');
  if (p.scoped) opts.push('scoped');
  if (p.sealed) opts.push('sealed');
  return opts.join(' | ');
}

function functionOptions(o: { cxxReturnUdt: boolean; isConstructor: boolean; isConstructorWithVirtualBases: boolean }): string {
  const opts: string[] = [];
  if (o.cxxReturnUdt) opts.push('returns cxx udt');
  if (o.isConstructorWithVirtualBases) opts.push('constructor with virtual bases');
  if (o.isConstructor) opts.push('constructor');
  return opts.join(' | ') || 'None';
}

function memberLines(m: FieldMember): string[] {
  const kind = m.kind === 'unknown' ? leafKindName(m.leaf) : m.kind;
  switch (m.kind) {
    case 'LF_MEMBER':
      return [`- ${kind} [name = \`${m.name}\`, Type = ${fmt(m.type)}, offset = ${m.offset}, attrs = ${memberAttributes(m.attributes)}]`];
    case 'LF_STMEMBER':
      return [`- ${kind} [name = \`${m.name}\`, type = ${fmt(m.type)}, attrs = ${memberAttributes(m.attributes)}]`];
    case 'LF_ENUMERATE':
      return [`- ${kind} [${m.name} = ${m.value}]`];
    case 'LF_BCLASS':
    case 'LF_BINTERFACE':
      return [`- ${kind}`, `type = ${fmt(m.type)}, offset = ${m.offset}, attrs = ${memberAttributes(m.attributes)}`];
    case 'LF_VBCLASS':
    case 'LF_IVBCLASS':
      return [
        `- ${kind}`,
        `base = ${fmt(m.baseType)}, vbptr = ${fmt(m.vbptrType)}, vbptr offset = ${m.vbptrOffset}, vtable index = ${m.vbtableIndex}`,
        `attrs = ${memberAttributes(m.attributes)}`,
      ];
    case 'LF_METHOD':
      return [`- ${kind} [name = \`${m.name}\`, # overloads = ${m.count}, overload list = ${fmt(m.methodList)}]`];
    case 'LF_ONEMETHOD':
      return [
        `- ${kind} [name = \`${m.name}\`]`,
        `type = ${fmt(m.type)}, vftable offset = ${m.vtableOffset ?? -1}, attrs = ${memberAttributes(m.attributes)}`,
      ];
    case 'LF_NESTTYPE':
      return [`- ${kind} [name = \`${m.name}\`, parent = ${fmt(m.type)}]`];
    case 'LF_VFUNCTAB':
      return [`- ${kind} type = ${fmt(m.type)}`];
    case 'LF_INDEX':
      return [`- ${kind} continuation = ${fmt(m.continuation)}`];
    case 'unknown':
      return [`- ${kind}`];
  }
}

/** One record as llvm-pdbutil prints it: the text after the header's ']' and the lines below. */
function render(r: TypeRecord, table: TypeTable, lookup: boolean): { head: string; lines: string[] } {
  const name = (ti: TypeIndex): string => (ti === 0 ? '' : table.nameOf(ti));
  const list = (indices: TypeIndex[]): string[] => indices.map((ti) => `${fmt(ti)}: \`${name(ti)}\``);
  const unique = (u: string | undefined): string[] => (u === undefined ? [] : [`unique name: \`${u}\``]);
  switch (r.kind) {
    case 'LF_STRING_ID':
      return { head: ` ID: ${fmt(r.substrings)}, String: ${r.string}`, lines: [] };
    case 'LF_LABEL':
      return { head: ` type = ${r.mode}`, lines: [] };
    case 'LF_ARGLIST':
      return { head: '', lines: list(r.args) };
    case 'LF_SUBSTR_LIST':
      return { head: '', lines: list(r.strings) };
    case 'LF_BUILDINFO':
      return { head: '', lines: list(r.args) };
    case 'LF_CLASS':
    case 'LF_STRUCTURE':
    case 'LF_INTERFACE':
      return {
        head: ` \`${r.name}\``,
        lines: [
          ...unique(r.uniqueName),
          `vtable: ${fmt(r.vtableShape)}, base list: ${fmt(r.derivedFrom)}, field list: ${fmt(r.fieldList)}`,
          `options: ${classOptions(r.properties, r.index, table, lookup)}, sizeof ${r.size}`,
        ],
      };
    case 'LF_UNION':
      return {
        head: ` \`${r.name}\``,
        lines: [
          ...unique(r.uniqueName),
          `field list: ${fmt(r.fieldList)}`,
          `options: ${classOptions(r.properties, r.index, table, lookup)}, sizeof ${r.size}`,
        ],
      };
    case 'LF_ENUM':
      return {
        head: ` \`${r.name}\``,
        lines: [
          ...unique(r.uniqueName),
          `field list: ${fmt(r.fieldList)}, underlying type: ${fmt(r.underlyingType)}`,
          `options: ${classOptions(r.properties, r.index, table, lookup)}`,
        ],
      };
    case 'LF_ARRAY':
      return {
        head: '',
        lines: [
          r.name === ''
            ? `size: ${r.size}, index type: ${fmt(r.indexType)}, element type: ${fmt(r.elementType)}`
            : `name: ${r.name}, size: ${r.size}, index type: ${fmt(r.indexType)}, element type: ${fmt(r.elementType)}`,
        ],
      };
    case 'LF_MFUNC_ID':
      return { head: '', lines: [`name = ${r.name}, type = ${fmt(r.functionType)}, class type = ${fmt(r.classType)}`] };
    case 'LF_FUNC_ID':
      return { head: '', lines: [`name = ${r.name}, type = ${fmt(r.functionType)}, parent scope = ${fmt(r.parentScope)}`] };
    case 'LF_PROCEDURE':
      return {
        head: '',
        lines: [
          `return type = ${fmt(r.returnType)}, # args = ${r.parameterCount}, param list = ${fmt(r.argumentList)}`,
          `calling conv = ${r.callingConvention}, options = ${functionOptions(r.options)}`,
        ],
      };
    case 'LF_MFUNCTION':
      return {
        head: '',
        lines: [
          `return type = ${fmt(r.returnType)}, # args = ${r.parameterCount}, param list = ${fmt(r.argumentList)}`,
          `class type = ${fmt(r.classType)}, this type = ${fmt(r.thisType)}, this adjust = ${r.thisAdjustment}`,
          `calling conv = ${r.callingConvention}, options = ${functionOptions(r.options)}`,
        ],
      };
    case 'LF_POINTER':
      return { head: '', lines: [`referent = ${fmt(r.referent)}, ${pointerText(r.attributes)}`] };
    case 'LF_MODIFIER': {
      const m = r.modifiers;
      const mods = [m.isConst && 'const', m.isVolatile && 'volatile', m.isUnaligned && 'unaligned'].filter(Boolean);
      return { head: '', lines: [`referent = ${fmt(r.modifiedType)}, modifiers = ${mods.join(' | ') || 'None'}`] };
    }
    case 'LF_VTSHAPE':
      return { head: '', lines: [] };
    case 'LF_UDT_MOD_SRC_LINE':
      return { head: '', lines: [`udt = ${fmt(r.udt)}, mod = ${r.module}, file = ${r.sourceFile}, line = ${r.line}`] };
    case 'LF_UDT_SRC_LINE':
      return { head: '', lines: [`udt = ${fmt(r.udt)}, file = ${r.sourceFile}, line = ${r.line}`] };
    case 'LF_BITFIELD':
      return { head: '', lines: [`type = ${fmt(r.type)}, bit offset = ${r.bitOffset}, # bits = ${r.bitSize}`] };
    case 'LF_METHODLIST':
      return {
        head: '',
        lines: r.methods.map(
          (m) => `- Method [type = ${fmt(m.type)}, vftable offset = ${m.vtableOffset ?? -1}, attrs = ${memberAttributes(m.attributes)}]`,
        ),
      };
    case 'LF_FIELDLIST':
      return { head: '', lines: r.members.flatMap(memberLines) };
    case 'unknown':
      return { head: '', lines: [] };
  }
}

function hashText(hashes: TypeHashes, position: number): string {
  const value = hashes.hashValues[position];
  return value === undefined ? '(not present)' : `0x${value.toString(16).toUpperCase()}`;
}

// ---- pdb2yaml's mapping (CodeViewYAMLTypes.cpp), with raw words rebuilt from decoded fields ----

const POINTER_KINDS = ['near16', 'far16', 'huge16', 'based-on-segment', 'based-on-value', 'based-on-segment-value',
  'based-on-address', 'based-on-segment-address', 'based-on-type', 'based-on-self', 'near32', 'far32', 'near64'];
const POINTER_MODES = ['pointer', 'lvalue-reference', 'pointer-to-data-member', 'pointer-to-member-function', 'rvalue-reference'];
const ACCESS = ['none', 'private', 'protected', 'public'];
const METHOD_KINDS = ['vanilla', 'virtual', 'static', 'friend', 'intro-virtual', 'pure-virtual', 'pure-intro-virtual'];

function pointerWord(a: PointerAttributes): string {
  let word = POINTER_KINDS.indexOf(a.kind) | (POINTER_MODES.indexOf(a.mode) << 5) | (a.size << 13);
  if (a.isFlat32) word |= 0x100;
  if (a.isVolatile) word |= 0x200;
  if (a.isConst) word |= 0x400;
  if (a.isUnaligned) word |= 0x800;
  if (a.isRestrict) word |= 0x1000;
  if (a.isMocom) word |= 0x80000;
  if (a.isLValueRefThis) word |= 0x100000;
  if (a.isRValueRefThis) word |= 0x200000;
  return String(word);
}

function attrWord(a: MemberAttributes): string {
  let word = ACCESS.indexOf(a.access) | (METHOD_KINDS.indexOf(a.methodKind) << 2);
  if (a.pseudo) word |= 0x20;
  if (a.noInherit) word |= 0x40;
  if (a.noConstruct) word |= 0x80;
  if (a.compilerGenerated) word |= 0x100;
  if (a.sealed) word |= 0x200;
  return String(word);
}

function classOptionList(p: ClassProperties): string[] {
  const names: [boolean, string][] = [
    [p.packed, 'Packed'],
    [p.hasConstructorOrDestructor, 'HasConstructorOrDestructor'],
    [p.hasOverloadedOperator, 'HasOverloadedOperator'],
    [p.isNested, 'Nested'],
    [p.containsNestedClass, 'ContainsNestedClass'],
    [p.hasOverloadedAssignment, 'HasOverloadedAssignmentOperator'],
    [p.hasConversionOperator, 'HasConversionOperator'],
    [p.forwardReference, 'ForwardReference'],
    [p.scoped, 'Scoped'],
    [p.hasUniqueName, 'HasUniqueName'],
    [p.sealed, 'Sealed'],
    [p.intrinsic, 'Intrinsic'],
  ];
  return ['None', ...names.filter(([set]) => set).map(([, name]) => name)];
}

function functionOptionList(o: { cxxReturnUdt: boolean; isConstructor: boolean; isConstructorWithVirtualBases: boolean }): string[] {
  return [
    'None',
    ...(o.cxxReturnUdt ? ['CxxReturnUdt'] : []),
    ...(o.isConstructor ? ['Constructor'] : []),
    ...(o.isConstructorWithVirtualBases ? ['ConstructorWithVirtualBases'] : []),
  ];
}

const CALL_CONV: Record<string, string> = {
  cdecl: 'NearC', 'far cdecl': 'FarC', pascal: 'NearPascal', 'far pascal': 'FarPascal', fastcall: 'NearFast',
  'far fastcall': 'FarFast', stdcall: 'NearStdCall', 'far stdcall': 'FarStdCall', 'near syscall': 'NearSysCall',
  'far syscall': 'FarSysCall', thiscall: 'ThisCall', mipscall: 'MipsCall', generic: 'Generic', alphacall: 'AlphaCall',
  ppccall: 'PpcCall', shcall: 'SHCall', armcall: 'ArmCall', am33call: 'AM33Call', tricall: 'TriCall',
  sh5call: 'SH5Call', m32rcall: 'M32RCall', clrcall: 'ClrCall', inline: 'Inline', vectorcall: 'NearVector',
};
const SLOTS: Record<string, string> = { near: 'Near16', far: 'Far16', thin: 'This', outer: 'Outer', meta: 'Meta', near32: 'Near', far32: 'Far' };
const pascal = (s: string): string => s.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
const str = (n: number | bigint): string => String(n);

function memberYaml(m: FieldMember): YamlMap | undefined {
  switch (m.kind) {
    case 'LF_MEMBER':
      return { Kind: m.kind, DataMember: { Attrs: attrWord(m.attributes), Type: str(m.type), FieldOffset: str(m.offset), Name: m.name } };
    case 'LF_STMEMBER':
      return { Kind: m.kind, StaticDataMember: { Attrs: attrWord(m.attributes), Type: str(m.type), Name: m.name } };
    case 'LF_ENUMERATE':
      return { Kind: m.kind, Enumerator: { Attrs: attrWord(m.attributes), Value: str(m.value), Name: m.name } };
    case 'LF_BCLASS':
    case 'LF_BINTERFACE':
      return { Kind: m.kind, BaseClass: { Attrs: attrWord(m.attributes), Type: str(m.type), Offset: str(m.offset) } };
    case 'LF_VBCLASS':
    case 'LF_IVBCLASS':
      return {
        Kind: m.kind,
        VirtualBaseClass: {
          Attrs: attrWord(m.attributes),
          BaseType: str(m.baseType),
          VBPtrType: str(m.vbptrType),
          VBPtrOffset: str(m.vbptrOffset),
          VTableIndex: str(m.vbtableIndex),
        },
      };
    case 'LF_METHOD':
      return { Kind: m.kind, OverloadedMethod: { NumOverloads: str(m.count), MethodList: str(m.methodList), Name: m.name } };
    case 'LF_ONEMETHOD':
      return {
        Kind: m.kind,
        OneMethod: { Type: str(m.type), Attrs: attrWord(m.attributes), VFTableOffset: str(m.vtableOffset ?? -1), Name: m.name },
      };
    case 'LF_NESTTYPE':
      return { Kind: m.kind, NestedType: { Type: str(m.type), Name: m.name } };
    case 'LF_VFUNCTAB':
      return { Kind: m.kind, VFPtr: { Type: str(m.type) } };
    case 'LF_INDEX':
      return { Kind: m.kind, ListContinuation: { ContinuationIndex: str(m.continuation) } };
    case 'unknown':
      return undefined;
  }
}

function recordYaml(r: TypeRecord): YamlMap | undefined {
  const k = { Kind: r.kind };
  switch (r.kind) {
    case 'LF_MODIFIER': {
      const m = r.modifiers;
      const mods = ['None', ...(m.isConst ? ['Const'] : []), ...(m.isVolatile ? ['Volatile'] : []), ...(m.isUnaligned ? ['Unaligned'] : [])];
      return { ...k, Modifier: { ModifiedType: str(r.modifiedType), Modifiers: mods } };
    }
    case 'LF_POINTER': {
      const body: YamlMap = { ReferentType: str(r.referent), Attrs: pointerWord(r.attributes) };
      if (r.memberInfo) {
        body['MemberInfo'] = {
          ContainingType: str(r.memberInfo.containingClass),
          Representation: pascal(r.memberInfo.representation),
        };
      }
      return { ...k, Pointer: body };
    }
    case 'LF_PROCEDURE':
      return {
        ...k,
        Procedure: {
          ReturnType: str(r.returnType),
          CallConv: CALL_CONV[r.callingConvention] ?? r.callingConvention,
          Options: functionOptionList(r.options),
          ParameterCount: str(r.parameterCount),
          ArgumentList: str(r.argumentList),
        },
      };
    case 'LF_MFUNCTION':
      return {
        ...k,
        MemberFunction: {
          ReturnType: str(r.returnType),
          ClassType: str(r.classType),
          ThisType: str(r.thisType),
          CallConv: CALL_CONV[r.callingConvention] ?? r.callingConvention,
          Options: functionOptionList(r.options),
          ParameterCount: str(r.parameterCount),
          ArgumentList: str(r.argumentList),
          ThisPointerAdjustment: str(r.thisAdjustment),
        },
      };
    case 'LF_ARGLIST':
      return { ...k, ArgList: { ArgIndices: r.args.map(str) } };
    case 'LF_SUBSTR_LIST':
      return { ...k, StringList: { StringIndices: r.strings.map(str) } };
    case 'LF_FIELDLIST':
      return { ...k, FieldList: r.members.map(memberYaml).filter((m): m is YamlMap => m !== undefined) };
    case 'LF_ARRAY':
      return { ...k, Array: { ElementType: str(r.elementType), IndexType: str(r.indexType), Size: str(r.size), Name: r.name } };
    case 'LF_CLASS':
    case 'LF_STRUCTURE':
    case 'LF_INTERFACE':
      return {
        ...k,
        Class: {
          MemberCount: str(r.memberCount),
          Options: classOptionList(r.properties),
          FieldList: str(r.fieldList),
          Name: r.name,
          UniqueName: r.uniqueName ?? '',
          DerivationList: str(r.derivedFrom),
          VTableShape: str(r.vtableShape),
          Size: str(r.size),
        },
      };
    case 'LF_UNION':
      return {
        ...k,
        Union: {
          MemberCount: str(r.memberCount),
          Options: classOptionList(r.properties),
          FieldList: str(r.fieldList),
          Name: r.name,
          UniqueName: r.uniqueName ?? '',
          Size: str(r.size),
        },
      };
    case 'LF_ENUM':
      return {
        ...k,
        Enum: {
          NumEnumerators: str(r.enumeratorCount),
          Options: classOptionList(r.properties),
          FieldList: str(r.fieldList),
          Name: r.name,
          UniqueName: r.uniqueName ?? '',
          UnderlyingType: str(r.underlyingType),
        },
      };
    case 'LF_BITFIELD':
      return { ...k, BitField: { Type: str(r.type), BitSize: str(r.bitSize), BitOffset: str(r.bitOffset) } };
    case 'LF_VTSHAPE':
      return { ...k, VFTableShape: { Slots: r.slots.map((s) => SLOTS[s] ?? s) } };
    case 'LF_METHODLIST':
      return {
        ...k,
        MethodOverloadList: {
          Methods: r.methods.map((m) => ({
            Type: str(m.type),
            Attrs: attrWord(m.attributes),
            VFTableOffset: str(m.vtableOffset ?? -1),
            Name: '',
          })),
        },
      };
    case 'LF_LABEL':
      return { ...k, Label: { Mode: pascal(r.mode) } };
    case 'LF_FUNC_ID':
      return { ...k, FuncId: { ParentScope: str(r.parentScope), FunctionType: str(r.functionType), Name: r.name } };
    case 'LF_MFUNC_ID':
      return { ...k, MemberFuncId: { ClassType: str(r.classType), FunctionType: str(r.functionType), Name: r.name } };
    case 'LF_BUILDINFO':
      return { ...k, BuildInfo: { ArgIndices: r.args.map(str) } };
    case 'LF_STRING_ID':
      return { ...k, StringId: { Id: str(r.substrings), String: r.string } };
    case 'LF_UDT_SRC_LINE':
      return { ...k, UdtSourceLine: { UDT: str(r.udt), SourceFile: str(r.sourceFile), LineNumber: str(r.line) } };
    case 'LF_UDT_MOD_SRC_LINE':
      return {
        ...k,
        UdtModSourceLine: { UDT: str(r.udt), SourceFile: str(r.sourceFile), LineNumber: str(r.line), Module: str(r.module) },
      };
    case 'unknown':
      return undefined;
  }
}

/** pdb2yaml prints an empty field list as a bare key; the parser reads that as ''. */
function normalizeYaml(record: YamlMap): YamlMap {
  if (record['FieldList'] === '') return { ...record, FieldList: [] };
  return record;
}

// ---- the PDBs ----

interface Decoded {
  stream: TypeStream;
  table: TypeTable;
  hashes: TypeHashes;
  dump: DumpSection;
  yaml: YamlMap[];
}

const PDBS: { name: string; pdb: () => string; minRecords: number }[] = [
  { name: 'symbol fixture (C and C++)', pdb: () => buildSymbolFixture().pdb, minRecords: 50 },
  { name: 'type-kinds fixture (kinds.cpp)', pdb: buildKindsPdb, minRecords: 90 },
  { name: 'stub kernel (BOOTX64.pdb)', pdb: stubPdb, minRecords: 200 },
  { name: 'yaml2pdb synthetic kinds', pdb: buildSyntheticPdb, minRecords: 25 },
];

describe.each(PDBS)('$name', ({ pdb, minRecords }) => {
  const decoded: Partial<Record<'TPI' | 'IPI', Decoded>> = {};

  beforeAll(() => {
    const path = pdb();
    const dump = llvmDump(path);
    const yaml = llvmYaml(path);
    for (const [which, streamIndex] of [['TPI', 2], ['IPI', 4]] as const) {
      const stream = decodeTypeStream(exportStream(path, streamIndex), which);
      const hashes = decodeTypeHashes(exportStream(path, stream.header.hashStreamIndex), stream.header, which);
      decoded[which] = {
        stream,
        table: new TypeTable(stream),
        hashes,
        dump: which === 'TPI' ? dump.tpi : dump.ipi,
        yaml: which === 'TPI' ? yaml.tpi : yaml.ipi,
      };
    }
  });

  test('the streams hold a meaningful number of records', () => {
    const total = decoded.TPI!.stream.records.length + decoded.IPI!.stream.records.length;
    expect(total).toBeGreaterThanOrEqual(minRecords);
  });

  describe.each(['TPI', 'IPI'] as const)('%s', (which) => {
    test('header, index offsets and hash values match the dump extras', () => {
      const { stream, hashes, dump } = decoded[which]!;
      const h = stream.header;
      expect(stream.records.length).toBe(dump.count);
      expect({
        version: h.version,
        hashStreamIndex: h.hashStreamIndex,
        auxHashStreamIndex: h.hashAuxStreamIndex,
        hashKeySize: h.hashKeySize,
        numHashBuckets: h.numHashBuckets,
        indexOffsets: hashes.indexOffsets,
        adjusterCount: hashes.adjusters.length,
      }).toEqual(dump.extras);
      // The seek table points at real record starts.
      for (const { index, offset } of hashes.indexOffsets) {
        expect(stream.records[index - h.typeIndexBegin]!.offset).toBe(offset);
      }
    });

    test('every record renders exactly as llvm-pdbutil dump prints it', () => {
      const { stream, table, hashes, dump } = decoded[which]!;
      const lookup = hashes.hashValues.length > 0;
      const ours: DumpRecord[] = stream.records.map((r, i) => {
        const { head, lines } = render(r, table, lookup);
        return {
          index: r.index,
          kind: r.kind === 'unknown' ? leafKindName(r.leaf) : r.kind,
          size: r.length + 2,
          hash: hashText(hashes, i),
          head,
          // The parsed dump lines are trimmed too (an empty option list leaves 'options: ').
          lines: lines.map((l) => l.trim()),
        };
      });
      // Records this decoder keeps raw are still matched on index, kind and size.
      const theirs = dump.records.map((d, i) =>
        stream.records[i]?.kind === 'unknown' ? { ...d, head: '', lines: [] } : d,
      );
      expect(ours).toEqual(theirs);
    });

    test('every record matches pdb2yaml field by field', () => {
      const { stream, yaml } = decoded[which]!;
      expect(stream.records.length).toBe(yaml.length);
      const ours = stream.records.map((r) => recordYaml(r) ?? { Kind: leafKindName(r.leaf) });
      const theirs = yaml.map((y, i) =>
        stream.records[i]!.kind === 'unknown' ? { Kind: y['Kind'] as Yaml } : normalizeYaml(y),
      );
      expect(ours).toEqual(theirs);
    });
  });
});

test('the synthetic PDB exercises the kinds the compiled fixtures lack', () => {
  const path = buildSyntheticPdb();
  const tpi = decodeTypeStream(exportStream(path, 2), 'TPI');
  const ipi = decodeTypeStream(exportStream(path, 4), 'IPI');
  const kinds = new Set([...tpi.records, ...ipi.records].map((r) => r.kind));
  for (const kind of ['LF_LABEL', 'LF_INTERFACE', 'LF_SUBSTR_LIST', 'LF_UDT_MOD_SRC_LINE', 'LF_METHODLIST', 'LF_VTSHAPE']) {
    expect(kinds).toContain(kind);
  }
  const unknown = tpi.records.filter((r) => r.kind === 'unknown').map((r) => leafKindName(r.leaf));
  expect(unknown).toEqual(['LF_VFTABLE', 'LF_ENDPRECOMP']);
});
