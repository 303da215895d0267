/**
 * Checks a translated ModelTypeInfo against LLVM's reading of the same TPI
 * stream (`llvm-pdbutil dump --types`, parsed by llvm-oracle.ts): starting
 * from a type index, the dump's record graph and the model's type graph are
 * walked side by side and every disagreement is listed. Expectations come
 * from the dump's text and from C's meaning of each CodeView construct
 * (a `const` modifier is a const type, an LF_ARRAY of N bytes of E is
 * N / sizeof(E) elements), never from the translator's own helpers.
 */
import type { ModelMember, ModelStructType, ModelType, ModelTypeInfo, ModelTypeRef } from '../../debug-model-types';
import type { DumpRecord } from './llvm-oracle';

/** llvm-pdbutil's simple type names, as C names the base type (both spellings of bool are C's and C++'s). */
const SIMPLE_NAMES: Record<string, string[]> = {
  int: ['int'],
  unsigned: ['unsigned int'],
  long: ['long'],
  'unsigned long': ['unsigned long'],
  __int64: ['long long'],
  'unsigned __int64': ['unsigned long long'],
  short: ['short'],
  'unsigned short': ['unsigned short'],
  char: ['char'],
  'signed char': ['signed char'],
  'unsigned char': ['unsigned char'],
  bool: ['_Bool', 'bool'],
  float: ['float'],
  double: ['double'],
  wchar_t: ['wchar_t'],
  char16_t: ['char16_t'],
  char32_t: ['char32_t'],
};

const SIMPLE_SIZES: Record<string, number> = {
  int: 4, unsigned: 4, long: 4, 'unsigned long': 4, __int64: 8, 'unsigned __int64': 8, short: 2, 'unsigned short': 2,
  char: 1, 'signed char': 1, 'unsigned char': 1, bool: 1, float: 4, double: 8, wchar_t: 2, char16_t: 2, char32_t: 4,
};

const SIGNED = new Set(['int', 'long', '__int64', 'short', 'char', 'signed char']);

/** '0x0074 (int)' -> { index: 0x74, name: 'int' }; '0x1003' -> { index: 0x1003 }; '<no type>' -> index 0. */
export function parseIndex(text: string): { index: number; name?: string } {
  const t = text.trim();
  if (t.startsWith('<no type>')) return { index: 0 };
  const m = /^0x([0-9A-F]+)(?: \((.*)\))?/.exec(t);
  if (!m) throw new Error(`not a type index: ${text}`);
  return m[2] === undefined ? { index: parseInt(m[1]!, 16) } : { index: parseInt(m[1]!, 16), name: m[2] };
}

/** The value of `key = value` or `key: value` in a record's lines (up to the next ', key' separator). */
function field(record: DumpRecord, key: string): string {
  for (const line of record.lines) {
    const m = new RegExp(`(?:^|, )${key}(?: =|:) ?(.*?)(?:, [a-z# ]+(?: =|:) |$)`).exec(line);
    if (m) return m[1]!;
  }
  throw new Error(`record 0x${record.index.toString(16)} (${record.kind}) has no '${key}': ${record.lines.join(' / ')}`);
}

interface FieldEntry {
  kind: string;
  text: string;
}

/** The sub-records of an LF_FIELDLIST, each with its continuation lines joined. */
function fieldEntries(record: DumpRecord): FieldEntry[] {
  const out: FieldEntry[] = [];
  for (const line of record.lines) {
    const m = /^- (LF_[A-Z_]+)(.*)$/.exec(line);
    if (m) out.push({ kind: m[1]!, text: m[2]!.trim() });
    else if (out.length > 0) out[out.length - 1]!.text += ` ${line}`;
  }
  return out;
}

const bracketField = (text: string, key: string): string | undefined => new RegExp(`${key} = ([^,\\]]*)`).exec(text)?.[1]?.trim();

export class ModelOracle {
  private readonly problems: string[] = [];
  private readonly seen = new Set<string>();

  constructor(
    private readonly info: ModelTypeInfo,
    private readonly records: ReadonlyMap<number, DumpRecord>,
  ) {}

  /** Differences between the model type `ref` and the dumped type `index`. */
  check(ref: ModelTypeRef, index: number): string[] {
    this.problems.length = 0;
    this.seen.clear();
    this.compare(ref, { index }, `0x${index.toString(16)}`);
    return [...this.problems];
  }

  private type(ref: ModelTypeRef): ModelType {
    const t = this.info.types[ref];
    if (!t) throw new Error(`model has no type ${ref}`);
    return t;
  }

  private fail(path: string, message: string): void {
    const text = `${path}: ${message}`;
    this.problems.push(text.length > 400 ? `${text.slice(0, 400)}...` : text);
  }

  private record(index: number): DumpRecord {
    const r = this.records.get(index);
    if (!r) throw new Error(`dump has no record 0x${index.toString(16)}`);
    return r;
  }

  /** sizeof, as the dump says it. */
  size(index: number, name?: string): number | undefined {
    if (index < 0x1000) {
      if (name?.endsWith('*')) return 8;
      return name === undefined ? undefined : SIMPLE_SIZES[name];
    }
    const r = this.record(index);
    switch (r.kind) {
      case 'LF_POINTER':
        return 8;
      case 'LF_MODIFIER': {
        const { index: i, name: n } = parseIndex(field(r, 'referent'));
        return this.size(i, n);
      }
      case 'LF_ARRAY':
        return Number(field(r, 'size'));
      case 'LF_STRUCTURE':
      case 'LF_CLASS':
      case 'LF_UNION': {
        const forward = /forward ref \(-> 0x([0-9A-F]+)\)/.exec(field(r, 'options'));
        if (forward) return this.size(parseInt(forward[1]!, 16));
        return Number(/sizeof (\d+)/.exec(field(r, 'options'))![1]);
      }
      case 'LF_ENUM': {
        const { index: i, name: n } = parseIndex(field(r, 'underlying type'));
        return this.size(i, n);
      }
      default:
        return undefined;
    }
  }

  /**
   * Where a forward reference leads: the dump's '(-> 0x...)'; or, where the
   * dump's hash lookup gave up ('= itself'), the first definition of the same
   * kind with the same unique name, which is how LLVM resolves them.
   */
  private definitionOf(r: DumpRecord): number | undefined {
    const options = field(r, 'options');
    const forward = /forward ref \(-> 0x([0-9A-F]+)\)/.exec(options);
    if (forward) return parseInt(forward[1]!, 16);
    if (!/forward ref/.test(options)) return r.index;
    const unique = r.lines.find((l) => l.startsWith('unique name:'));
    if (!unique) return undefined;
    for (const other of this.records.values()) {
      if (other.kind === r.kind && other.lines.includes(unique) && !/forward ref/.test(field(other, 'options'))) return other.index;
    }
    return undefined;
  }

  /** A field list's entries, LF_INDEX continuations followed. */
  private fieldListEntries(index: number): FieldEntry[] {
    const out: FieldEntry[] = [];
    const seen = new Set<number>();
    for (let at: number | undefined = index; at !== undefined && !seen.has(at); ) {
      seen.add(at);
      const entries = fieldEntries(this.record(at));
      at = undefined;
      for (const e of entries) {
        const next = /continuation = (0x[0-9A-F]+)/.exec(e.text);
        if (e.kind === 'LF_INDEX' && next) at = parseIndex(next[1]!).index;
        else out.push(e);
      }
    }
    return out;
  }

  private compare(ref: ModelTypeRef, target: { index: number; name?: string }, path: string, arrayDepth = 0): void {
    const index = target.index;
    const key = `${ref}:${index}:${arrayDepth}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    const type = this.type(ref);
    if (index === 0) {
      if (type.kind !== 'void') this.fail(path, `<no type> translated as ${type.kind}`);
      return;
    }
    if (index < 0x1000) return this.compareSimple(type, target.name, path);
    const r = this.record(index);
    switch (r.kind) {
      case 'LF_MODIFIER':
        return this.compareModifier(ref, r, path);
      case 'LF_POINTER':
        return this.comparePointer(ref, r, path);
      case 'LF_ARRAY':
        return this.compareArray(ref, r, path, arrayDepth);
      case 'LF_STRUCTURE':
      case 'LF_CLASS':
      case 'LF_UNION':
        return this.compareAggregate(ref, r, path);
      case 'LF_ENUM':
        return this.compareEnum(ref, r, path);
      case 'LF_PROCEDURE':
      case 'LF_MFUNCTION':
        return this.compareFunction(ref, r, path);
      case 'LF_VTSHAPE':
        // A virtual table's layout is no type a program declares: it stays opaque.
        if (this.type(ref).kind !== 'opaque') this.fail(path, `LF_VTSHAPE translated as ${this.type(ref).kind}`);
        return;
      default:
        this.fail(path, `the oracle does not know ${r.kind}`);
    }
  }

  private compareSimple(type: ModelType, name: string | undefined, path: string): void {
    if (name === undefined) return this.fail(path, 'the dump names no simple type here');
    if (name === 'void') {
      if (type.kind !== 'void') this.fail(path, `void translated as ${type.kind}`);
      return;
    }
    let base = type;
    let baseName = name;
    if (baseName.endsWith('*')) {
      if (type.kind !== 'pointer') return this.fail(path, `${baseName} translated as ${type.kind}`);
      base = this.type(type.target);
      baseName = baseName.slice(0, -1);
      if (baseName === 'void') {
        if (base.kind !== 'void') this.fail(path, `void* points to ${base.kind}`);
        return;
      }
    }
    const expected = SIMPLE_NAMES[baseName];
    if (!expected) return this.fail(path, `the oracle does not know simple type ${baseName}`);
    if (base.kind !== 'base' || !expected.includes(base.name) || base.byteSize !== SIMPLE_SIZES[baseName]) {
      this.fail(path, `${baseName} translated as ${JSON.stringify(base)}`);
    }
  }

  /** Peels the qualifiers `wanted` off `ref` in any order; returns what they qualify. */
  private peel(ref: ModelTypeRef, wanted: string[], path: string): ModelTypeRef | undefined {
    const left = new Set(wanted);
    let at = ref;
    for (;;) {
      const t = this.type(at);
      if ((t.kind === 'const' || t.kind === 'volatile' || t.kind === 'restrict') && left.has(t.kind)) {
        left.delete(t.kind);
        at = t.target;
        continue;
      }
      break;
    }
    if (left.size > 0) {
      this.fail(path, `missing qualifiers ${[...left].join(' ')} on ${this.type(at).kind}`);
      return undefined;
    }
    return at;
  }

  private compareModifier(ref: ModelTypeRef, r: DumpRecord, path: string): void {
    const modifiers = field(r, 'modifiers').split('|').map((s) => s.trim()).filter((s) => s === 'const' || s === 'volatile');
    const inner = this.peel(ref, modifiers, path);
    if (inner === undefined) return;
    this.compare(inner, parseIndex(field(r, 'referent')), `${path}>${modifiers.join(' ')}`);
  }

  private comparePointer(ref: ModelTypeRef, r: DumpRecord, path: string): void {
    const opts = field(r, 'opts').split('|').map((s) => s.trim()).filter((s) => s === 'const' || s === 'volatile' || s === 'restrict');
    const inner = this.peel(ref, opts, path);
    if (inner === undefined) return;
    const t = this.type(inner);
    const mode = field(r, 'mode');
    const expectedKind =
      mode === 'pointer' ? 'pointer' : mode === 'ref' ? 'reference' : mode === 'rvalue ref' ? 'rvalue-reference' : 'member-pointer';
    if (t.kind !== expectedKind) return this.fail(path, `${mode} translated as ${t.kind}`);
    if (t.kind === 'pointer' || t.kind === 'reference' || t.kind === 'rvalue-reference') {
      if (t.byteSize !== 8) this.fail(path, `ptr64 of ${t.byteSize} bytes`);
    }
    this.compare(t.target, parseIndex(field(r, 'referent')), `${path}>*`);
  }

  private compareArray(ref: ModelTypeRef, r: DumpRecord, path: string, depth: number): void {
    const t = this.type(ref);
    if (t.kind !== 'array') return this.fail(path, `LF_ARRAY translated as ${t.kind}`);
    const bytes = Number(field(r, 'size'));
    const element = parseIndex(field(r, 'element type'));
    const elementSize = this.size(element.index, element.name);
    const expectedCount = elementSize && bytes > 0 && bytes % elementSize === 0 ? bytes / elementSize : undefined;
    if (t.dimensions[depth] !== expectedCount) {
      this.fail(path, `dimension ${depth} is ${t.dimensions[depth]}, expected ${expectedCount} (${bytes} bytes of ${elementSize})`);
    }
    const elementRecord = element.index >= 0x1000 ? this.records.get(element.index) : undefined;
    if (elementRecord?.kind === 'LF_ARRAY') {
      // CodeView nests one LF_ARRAY per dimension; the model lists the dimensions of one array.
      this.compare(ref, element, `${path}[]`, depth + 1);
    } else {
      if (t.dimensions.length !== depth + 1) this.fail(path, `${t.dimensions.length} dimensions, expected ${depth + 1}`);
      this.compare(t.element, element, `${path}[]`);
    }
  }

  private compareAggregate(ref: ModelTypeRef, r: DumpRecord, path: string): void {
    const options = field(r, 'options');
    const definition = this.definitionOf(r);
    if (definition !== undefined && definition !== r.index) return this.compare(ref, { index: definition }, path);
    const t = this.type(ref);
    const expectedKind = r.kind === 'LF_CLASS' ? 'class' : r.kind === 'LF_UNION' ? 'union' : 'struct';
    if (t.kind !== expectedKind) return this.fail(path, `${r.kind} translated as ${t.kind}`);
    const name = /`(.*)`/.exec(r.head)?.[1] ?? '';
    // Compilers' names for unnamed types ('<unnamed-tag>', '<unnamed-type-g_x>'): DWARF leaves those unnamed.
    const expectedName = /(^|::)<unnamed-(tag|type-[^>]*)>$/.test(name) ? undefined : name;
    if (t.name !== expectedName) this.fail(path, `name ${t.name}, expected ${expectedName}`);
    const forwardOnly = /forward ref/.test(options);
    if (forwardOnly) {
      if (!t.declaration) this.fail(path, 'a forward reference without definition should be a declaration');
      return;
    }
    const size = Number(/sizeof (\d+)/.exec(options)?.[1]);
    if (t.byteSize !== size) this.fail(path, `byte size ${t.byteSize}, expected ${size}`);
    const fieldList = parseIndex(field(r, 'field list'));
    if (fieldList.index === 0) return;
    this.compareFields(t, this.fieldListEntries(fieldList.index), `${path}{${t.name ?? ''}}`);
  }

  /** The model's data members with anonymous aggregates expanded in place, as CodeView lists them. */
  private flatMembers(t: ModelStructType, displacement = 0): ModelMember[] {
    const out: ModelMember[] = [];
    for (const m of t.members) {
      const inner = this.type(m.type);
      if (m.name === undefined && (inner.kind === 'struct' || inner.kind === 'union' || inner.kind === 'class')) {
        out.push(...this.flatMembers(inner, displacement + m.byteOffset));
      } else if (!m.artificial) {
        out.push({ ...m, byteOffset: m.isStatic ? 0 : m.byteOffset + displacement });
      }
    }
    return out;
  }

  private compareFields(t: ModelStructType, entries: FieldEntry[], path: string): void {
    const dataEntries = entries.filter((e) => e.kind === 'LF_MEMBER' || e.kind === 'LF_STMEMBER');
    const members = this.flatMembers(t);
    if (members.length !== dataEntries.length) {
      this.fail(path, `${members.length} data members, the field list has ${dataEntries.length}`);
    }
    dataEntries.forEach((e, i) => {
      const m = members[i];
      const name = /name = `([^`]*)`/.exec(e.text)?.[1];
      const where = `${path}.${name}`;
      if (!m) return;
      if (m.name !== name) this.fail(where, `member ${i} is named ${m.name}`);
      if (e.kind === 'LF_STMEMBER') {
        if (!m.isStatic) this.fail(where, 'should be static');
        this.compare(m.type, parseIndex(bracketField(e.text, 'type')!), where);
        return;
      }
      const offset = Number(bracketField(e.text, 'offset'));
      if (m.byteOffset !== offset) this.fail(where, `offset ${m.byteOffset}, expected ${offset}`);
      const typeIndex = parseIndex(bracketField(e.text, 'Type')!);
      const typeRecord = typeIndex.index >= 0x1000 ? this.records.get(typeIndex.index) : undefined;
      if (typeRecord?.kind === 'LF_BITFIELD') {
        const bitOffset = Number(field(typeRecord, 'bit offset'));
        const bits = Number(field(typeRecord, '# bits'));
        if (m.bitField?.bitOffset !== bitOffset || m.bitField?.bitSize !== bits) {
          this.fail(where, `bit field ${JSON.stringify(m.bitField)}, expected offset ${bitOffset} size ${bits}`);
        }
        this.compare(m.type, parseIndex(field(typeRecord, 'type')), where);
      } else {
        if (m.bitField) this.fail(where, 'is not a bit field');
        this.compare(m.type, typeIndex, where);
      }
    });
    const bases = entries.filter((e) => e.kind === 'LF_BCLASS');
    if (bases.length !== t.bases.length) this.fail(path, `${t.bases.length} bases, expected ${bases.length}`);
    bases.forEach((e, i) => {
      const base = t.bases[i];
      if (!base) return;
      if (base.byteOffset !== Number(bracketField(` ${e.text}`, 'offset'))) this.fail(path, `base ${i} offset ${base.byteOffset}`);
      this.compare(base.type, parseIndex(bracketField(` ${e.text}`, 'type')!), `${path}:base${i}`);
    });
    const vptrs = entries.filter((e) => e.kind === 'LF_VFUNCTAB').length;
    if (t.members.filter((m) => m.artificial).length !== vptrs) this.fail(path, `virtual table pointers do not match the ${vptrs} LF_VFUNCTAB`);
    // LF_ONEMETHOD is one method, LF_METHOD names '# overloads' of them.
    const methods = entries.flatMap((e) => {
      const name = /name = `([^`]*)`/.exec(e.text)?.[1];
      if (e.kind === 'LF_ONEMETHOD') return [name];
      if (e.kind === 'LF_METHOD') return Array<string | undefined>(Number(/# overloads = (\d+)/.exec(e.text)![1])).fill(name);
      return [];
    });
    const modelMethods = t.methods.map((m) => m.name);
    if (JSON.stringify(modelMethods) !== JSON.stringify(methods)) this.fail(path, `methods ${modelMethods}, expected ${methods}`);
  }

  private compareEnum(ref: ModelTypeRef, r: DumpRecord, path: string): void {
    const definition = this.definitionOf(r);
    if (definition !== undefined && definition !== r.index) return this.compare(ref, { index: definition }, path);
    const t = this.type(ref);
    if (t.kind !== 'enum') return this.fail(path, `LF_ENUM translated as ${t.kind}`);
    const name = /`(.*)`/.exec(r.head)?.[1];
    if (t.name !== name) this.fail(path, `name ${t.name}, expected ${name}`);
    const underlying = parseIndex(field(r, 'underlying type'));
    this.compare(t.underlying, underlying, `${path}:underlying`);
    const fieldList = parseIndex(field(r, 'field list'));
    if (fieldList.index === 0) return;
    const size = SIMPLE_SIZES[underlying.name ?? ''] ?? 4;
    const signed = SIGNED.has(underlying.name ?? '');
    const expected = this.fieldListEntries(fieldList.index)
      .filter((e) => e.kind === 'LF_ENUMERATE')
      .map((e) => {
        const m = /\[(.*) = (-?\d+)\]/.exec(e.text)!;
        let value = BigInt(m[2]!);
        // The dump shows the stored bits; a signed underlying type reads the high bit as the sign.
        const bits = BigInt(size * 8);
        if (signed && value >= 1n << (bits - 1n) && value < 1n << bits) value -= 1n << bits;
        return `${m[1]}=${value}`;
      });
    const actual = t.enumerators.map((e) => `${e.name}=${e.value}`);
    if (actual.join(',') !== expected.join(',')) this.fail(path, `enumerators ${actual}, expected ${expected}`);
  }

  private compareFunction(ref: ModelTypeRef, r: DumpRecord, path: string): void {
    const t = this.type(ref);
    if (t.kind !== 'function') return this.fail(path, `${r.kind} translated as ${t.kind}`);
    this.compare(t.returnType, parseIndex(field(r, 'return type')), `${path}:return`);
    const list = this.record(parseIndex(field(r, 'param list')).index);
    const args = list.lines.map((l) => parseIndex(l.split(':')[0]!));
    const variadic = args.length > 0 && args[args.length - 1]!.index === 0;
    const declared = variadic ? args.slice(0, -1) : args;
    if (t.variadic !== variadic) this.fail(path, `variadic ${t.variadic}, expected ${variadic}`);
    if (t.parameters.length !== declared.length) return this.fail(path, `${t.parameters.length} parameters, expected ${declared.length}`);
    declared.forEach((a, i) => this.compare(t.parameters[i]!, a, `${path}:arg${i}`));
    if (r.kind === 'LF_MFUNCTION') {
      const self = parseIndex(field(r, 'this type'));
      if (self.index === 0) {
        if (t.thisType !== undefined) this.fail(path, 'a static method has no this');
      } else if (t.thisType === undefined) this.fail(path, 'this type missing');
      else this.compare(t.thisType, self, `${path}:this`);
    }
  }
}
