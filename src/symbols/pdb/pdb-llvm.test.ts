/**
 * Our PDB readers against LLVM's: every PDB input is dumped with llvm-pdbutil
 * and each stream we read is compared with the dump, record by record.
 */
import { readFileSync } from 'node:fs';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { cvRegisterName } from './cv-registers';
import { openPdb } from './pdb-file';
import type { PdbFile } from './pdb-file';
import { symbolKindName } from './symbol-kinds';
import type { AddressGap, AddressRange, CvSymbol } from './symbol-records';
import { extraInput, fixtureInputFrom, stubInput, syntheticInput } from './testing/inputs';
import type { PdbInput } from './testing/inputs';
import {
  dumpSections,
  parseFiles,
  parseInlineeLines,
  parseLines,
  parseModules,
  parseRecords,
  parseSectionContributions,
  parseSectionHeaders,
  parseSectionMap,
  parseStreams,
  parseStringTable,
  parseSummary,
  pdbutil,
  section,
} from './testing/pdbutil';
import type { PdbutilRecord } from './testing/pdbutil';

const fixtureInput = (): PdbInput => fixtureInputFrom(buildSymbolFixture);

const DUMP_FLAGS = [
  '--summary',
  '--streams',
  '--modules',
  '--files',
  '--publics',
  '--globals',
  '--symbols',
  '--il',
  '-l',
  '--section-contribs',
  '--section-map',
  '--section-headers',
  '--string-table',
];

const addr = (segment: number, offset: number): string => `${String(segment).padStart(4, '0')}:${String(offset).padStart(4, '0')}`;
const hex4 = (v: number): string => `0x${v.toString(16).toUpperCase().padStart(4, '0')}`;
const range = (r: AddressRange): string => `range = [${addr(r.segment, r.offset)},+${r.length})`;
/**
 * LLVM stops reading a gap list at a byte of 0xF0 or more, taking it for
 * LF_PAD padding, so a gap starting at such an offset (and every later gap) is
 * missing from its dump; the bytes hold them, and we read them.
 */
const gaps = (g: AddressGap[]): string => {
  const cut = g.findIndex((x) => (x.gapStartOffset & 0xff) >= 0xf0);
  const shown = cut < 0 ? g : g.slice(0, cut);
  return `gaps = [${shown.map((x) => `(${x.gapStartOffset},${x.length})`).join(', ')}]`;
};
const frameReg = (r: number | undefined): string => (r === undefined ? 'NONE' : cvRegisterName(r));
const LANGUAGES: Record<number, string> = { 0: 'c', 1: 'c++', 3: 'masm', 7: 'link' };

/**
 * Text llvm-pdbutil must print for this record (on its header line or detail
 * lines). Fields LLVM 14 prints wrongly are left out and say so.
 */
function expectedFragments(s: CvSymbol): string[] {
  switch (s.kind) {
    case 'S_PUB32': {
      const flags = [s.isCode && 'code', s.isFunction && 'function', s.isManaged && 'managed', s.isMsil && 'msil'].filter(Boolean);
      return [`flags = ${flags.length ? flags.join(' | ') : 'none'}, addr = ${addr(s.segment, s.offset)}`];
    }
    case 'S_GDATA32':
    case 'S_LDATA32':
    case 'S_GTHREAD32':
    case 'S_LTHREAD32':
      return [`type = ${hex4(s.typeIndex)}`, `addr = ${addr(s.segment, s.offset)}`];
    case 'S_PROCREF':
    case 'S_LPROCREF':
    case 'S_DATAREF':
      return [`module = ${s.module}, sum name = ${s.sumName}, offset = ${s.symOffset}`];
    case 'S_UDT':
      return [`original type = ${hex4(s.typeIndex)}`];
    case 'S_CONSTANT':
      return [`type = ${hex4(s.typeIndex)}`, `value = ${s.value}`];
    case 'S_GPROC32':
    case 'S_LPROC32':
    case 'S_GPROC32_ID':
    case 'S_LPROC32_ID':
      return [
        `parent = ${s.parent}, end = ${s.end}, addr = ${addr(s.segment, s.offset)}, code size = ${s.codeSize}`,
        `type = \`${hex4(s.typeIndex)}`,
        `debug start = ${s.debugStart}, debug end = ${s.debugEnd}`,
        ...(s.flags & 1 ? ['has fp'] : []),
      ];
    case 'S_BLOCK32':
      return [`parent = ${s.parent}, end = ${s.end}`, `code size = ${s.codeSize}, addr = ${addr(s.segment, s.offset)}`];
    case 'S_THUNK32':
      return [`parent = ${s.parent}, end = ${s.end}, next = ${s.next}`, `size = ${s.length}, addr = ${addr(s.segment, s.offset)}`];
    case 'S_LABEL32':
      return [`(addr = ${addr(s.segment, s.offset)})`];
    case 'S_FRAMEPROC':
      return [
        `size = ${s.totalFrameBytes}, padding size = ${s.paddingFrameBytes}, offset to padding = ${s.offsetToPadding}`,
        `bytes of callee saved registers = ${s.calleeSavedRegisterBytes}, exception handler addr = ${addr(s.exceptionHandlerSection, s.exceptionHandlerOffset)}`,
        `local fp reg = ${frameReg(s.localFramePointer)}, param fp reg = ${frameReg(s.paramFramePointer)}`,
      ];
    case 'S_REGREL32':
      return [`type = ${hex4(s.typeIndex)}`, `register = ${cvRegisterName(s.register)}`, `offset = ${s.offset}`];
    case 'S_BPREL32':
      return [`type = ${hex4(s.typeIndex)}`, `offset = ${s.offset}`];
    case 'S_REGISTER':
      return [`type = ${hex4(s.typeIndex)}`];
    case 'S_LOCAL':
      return [`type=${hex4(s.typeIndex)}`, s.isParam ? 'param' : '', s.isOptimizedOut ? 'optimized away' : ''].filter(Boolean);
    case 'S_DEFRANGE_REGISTER':
      return [
        `register = ${cvRegisterName(s.register)}, may have no name = ${s.mayHaveNoName}, range start = ${addr(s.range.segment, s.range.offset)}, length = ${s.range.length}`,
        gaps(s.gaps),
      ];
    case 'S_DEFRANGE_FRAMEPOINTER_REL':
      return [`offset = ${s.offset}, ${range(s.range)}`, gaps(s.gaps)];
    case 'S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE':
      return [`offset = ${s.offset}`];
    case 'S_DEFRANGE_SUBFIELD_REGISTER':
      // LLVM 14 prints "may have no name = true" whatever the field holds.
      return [`register = ${cvRegisterName(s.register)}`, `offset in parent = ${s.offsetInParent}`, `${range(s.range)}, ${gaps(s.gaps)}`];
    case 'S_DEFRANGE_REGISTER_REL':
      return [
        `register = ${cvRegisterName(s.baseRegister)}, offset = ${s.basePointerOffset}, offset in parent = ${s.offsetInParent}, has spilled udt = ${s.spilledUdtMember}`,
        `${range(s.range)}, ${gaps(s.gaps)}`,
      ];
    case 'S_OBJNAME':
      return [`sig=${s.signature}, \`${s.name}\``];
    case 'S_COMPILE3':
      return [
        `Ver = ${s.version}, language = ${LANGUAGES[s.language] ?? '?'}`,
        `frontend = ${s.frontendVersion.join('.')}, backend = ${s.backendVersion.join('.')}`,
      ];
    case 'S_BUILDINFO':
      return [`BuildId = \`${hex4(s.buildId)}\``];
    case 'S_TRAMPOLINE':
      // LLVM 14 prints the thunk offset as the target offset too.
      return [`size = ${s.size}, source = ${addr(s.thunkSection, s.thunkOffset)}, target = ${addr(s.targetSection, s.thunkOffset)}`];
    case 'S_INLINESITE':
      return [`inlinee = ${hex4(s.inlinee)}`, `parent = ${s.parent}, end = ${s.end}`];
    case 'S_SECTION':
      return [`length = ${s.length}, alignment = ${s.alignment}, rva = ${s.rva}, section # = ${s.sectionNumber}`];
    case 'S_COFFGROUP':
      return [`length = ${s.size}, addr = ${addr(s.segment, s.offset)}`];
    case 'S_CALLSITEINFO':
      return [`type = ${hex4(s.typeIndex)}`, `addr = ${addr(s.segment, s.offset)}`];
    case 'S_HEAPALLOCSITE':
      return [`type = ${hex4(s.typeIndex)}`, `addr = ${addr(s.segment, s.offset)} call size = ${s.callInstructionSize}`];
    case 'S_ENVBLOCK':
      return [s.entries.map((e) => `- ${e}`).join(' | ')];
    case 'S_END':
    case 'S_PROC_ID_END':
    case 'S_INLINESITE_END':
    case 'unknown':
      return [];
  }
}

function expectRecordMatches(ours: CvSymbol, theirs: PdbutilRecord | undefined, where: string): void {
  const context = `${where} record at ${ours.recordOffset}`;
  expect({ context, offset: theirs?.offset, kind: theirs?.kind, size: theirs?.size }).toEqual({
    context,
    offset: ours.recordOffset,
    kind: symbolKindName(ours.kindValue),
    size: ours.recordSize,
  });
  if ('name' in ours && ours.kind !== 'S_OBJNAME' && !(ours.kind === 'S_THUNK32')) {
    expect({ context, name: theirs!.name }).toEqual({ context, name: ours.name });
  }
  const text = `${theirs!.rest} | ${theirs!.details}`;
  for (const fragment of expectedFragments(ours)) {
    expect({ context, text, has: text.includes(fragment) ? fragment : `(missing) ${fragment}` }).toEqual({ context, text, has: fragment });
  }
}

const SCN_FLAGS: [number, string][] = [
  [0x8, 'IMAGE_SCN_TYPE_NO_PAD'],
  [0x20, 'IMAGE_SCN_CNT_CODE'],
  [0x40, 'IMAGE_SCN_CNT_INITIALIZED_DATA'],
  [0x80, 'IMAGE_SCN_CNT_UNINITIALIZED_DATA'],
  [0x200, 'IMAGE_SCN_LNK_INFO'],
  [0x800, 'IMAGE_SCN_LNK_REMOVE'],
  [0x1000, 'IMAGE_SCN_LNK_COMDAT'],
  [0x02000000, 'IMAGE_SCN_MEM_DISCARDABLE'],
  [0x04000000, 'IMAGE_SCN_MEM_NOT_CACHED'],
  [0x08000000, 'IMAGE_SCN_MEM_NOT_PAGED'],
  [0x10000000, 'IMAGE_SCN_MEM_SHARED'],
  [0x20000000, 'IMAGE_SCN_MEM_EXECUTE'],
  [0x40000000, 'IMAGE_SCN_MEM_READ'],
  [0x80000000, 'IMAGE_SCN_MEM_WRITE'],
];

function characteristicNames(c: number): string[] {
  const names = SCN_FLAGS.filter(([bit]) => (c & bit) >>> 0 !== 0).map(([, n]) => n);
  const align = (c >>> 20) & 0xf;
  if (align !== 0) names.push(`IMAGE_SCN_ALIGN_${1 << (align - 1)}BYTES`);
  return names.sort();
}

const INPUTS: [string, () => PdbInput][] = [
  ['fixture', fixtureInput],
  ['stub', stubInput],
  ['extra', extraInput],
  ['synthetic', syntheticInput],
];

describe.each(INPUTS)('the %s PDB against llvm-pdbutil dump', (_name, input) => {
  let pdb: PdbFile;
  let dump: Map<string, string[]>;
  beforeAll(() => {
    const path = input().pdb;
    pdb = openPdb(readFileSync(path));
    dump = dumpSections(pdbutil(['dump', ...DUMP_FLAGS, path]));
  });

  it('reads the info stream: signature, age, GUID, named streams', () => {
    const summary = parseSummary(section(dump, 'Summary'));
    expect(pdb.info).toMatchObject({ signature: summary.signature, age: summary.age, guid: summary.guid, hasIdStream: true });
    const streams = parseStreams(section(dump, 'Streams'));
    for (const s of streams) {
      const named = /^Named Stream "(.*)"$/.exec(s.description);
      if (named) expect(pdb.namedStream(named[1]!)).toBe(s.index);
    }
    expect(pdb.info.namedStreams.size).toBe(streams.filter((s) => s.description.startsWith('Named Stream')).length);
  });

  it('finds the streams the DBI header and module records name', () => {
    const streams = parseStreams(section(dump, 'Streams'));
    const described = (d: string): number | undefined => streams.find((s) => s.description === d)?.index;
    const h = pdb.dbi.header;
    expect(h.globalStreamIndex).toBe(described('Global Symbol Hash'));
    expect(h.publicStreamIndex).toBe(described('Public Symbol Hash'));
    expect(h.symRecordStreamIndex).toBe(described('Symbol Records'));
    expect(pdb.dbi.debugStreams.sectionHeaders).toBe(described('Section Header Data'));
    expect(h.machine).toBe(0x8664);
    for (const m of pdb.modules) {
      if (m.symbolStream !== undefined) expect(streams[m.symbolStream]!.description).toBe(`Module "${m.moduleName}"`);
    }
  });

  it('reads the /names string table', () => {
    const expected = parseStringTable(section(dump, 'String Table'));
    const names = pdb.names!;
    const ours = new Map(names.ids.map((id) => [id, names.string(id)] as const).filter(([, s]) => s !== ''));
    expect(ours).toEqual(expected);
  });

  it('reads module info, file info and EC names', () => {
    const expected = parseModules(section(dump, 'Modules'));
    expect(pdb.modules.map((m) => m.moduleName)).toEqual(expected.map((m) => m.name));
    for (const m of pdb.modules) {
      const e = expected[m.index]!;
      expect({
        obj: m.objFileName,
        debugStream: m.symbolStream ?? 0xffff,
        fileCount: m.sourceFileCount,
        pdbFileName: pdb.dbi.ecNames?.string(m.pdbFilePathNameIndex) ?? '',
        srcFileName: pdb.dbi.ecNames?.string(m.sourceFileNameIndex) ?? '',
      }).toEqual({ obj: e.obj, debugStream: e.debugStream, fileCount: e.fileCount, pdbFileName: e.pdbFileName, srcFileName: e.srcFileName });
      if (e.contribution) {
        const c = m.sectionContribution;
        const { flags, ...fields } = e.contribution;
        expect({ module: c.moduleIndex, section: c.section, offset: c.offset, size: c.size, dataCrc: c.dataCrc, relocCrc: c.relocCrc }).toEqual(fields);
        expect(characteristicNames(c.characteristics)).toEqual([...flags].sort());
      }
    }
    const files = parseFiles(section(dump, 'Files'));
    for (const m of pdb.modules) {
      const e = files.get(m.index) ?? [];
      expect(m.sourceFiles).toEqual(e.map((f) => f.path));
      const stream = pdb.moduleStream(m.index);
      if (!stream) continue;
      const checksums = [...stream.checksums.values()];
      for (const f of e) {
        const c = checksums.find((x) => pdb.fileName(x.fileNameOffset) === f.path);
        if (!c) continue;
        const kind = ['None', 'MD5', 'SHA-1', 'SHA-256'][c.kind];
        expect({ path: f.path, kind, checksum: Buffer.from(c.checksum).toString('hex').toUpperCase() }).toEqual({
          path: f.path,
          kind: f.checksumKind,
          checksum: f.checksum,
        });
      }
    }
  });

  it('reads every public in hash order', () => {
    const records = parseRecords(section(dump, 'Public Symbols')).get(-1) ?? [];
    const ours = pdb.publics?.symbols ?? [];
    expect(ours).toHaveLength(records.length);
    ours.forEach((s, i) => expectRecordMatches(s, records[i], 'publics'));
    if (pdb.publics) {
      // The address map holds the same records, sorted by section and offset.
      const byAddr = pdb.publics.addressMap.map((o) => pdb.symbolRecords!.at(o));
      expect(new Set(pdb.publics.addressMap)).toEqual(new Set(ours.map((s) => s.recordOffset)));
      const keys = byAddr.map((s) => (s.kind === 'S_PUB32' ? s.segment * 2 ** 32 + s.offset : -1));
      expect(keys).toEqual([...keys].sort((a, b) => a - b));
    }
  });

  it('reads every global in hash order', () => {
    const records = parseRecords(section(dump, 'Global Symbols')).get(-1) ?? [];
    const ours = pdb.globals?.symbols ?? [];
    expect(ours).toHaveLength(records.length);
    ours.forEach((s, i) => expectRecordMatches(s, records[i], 'globals'));
  });

  it("reads every module's symbols, and procedure references land on procedures", () => {
    const records = parseRecords(section(dump, 'Symbols'));
    for (const m of pdb.modules) {
      const ours = pdb.moduleStream(m.index)?.symbols ?? [];
      const theirs = records.get(m.index) ?? [];
      expect({ module: m.moduleName, count: ours.length }).toEqual({ module: m.moduleName, count: theirs.length });
      ours.forEach((s, i) => expectRecordMatches(s, theirs[i], m.moduleName));
    }
    for (const g of pdb.globals?.symbols ?? []) {
      if (g.kind !== 'S_PROCREF' && g.kind !== 'S_LPROCREF') continue;
      const target = pdb.moduleStream(g.module - 1)!.symbols.find((s) => s.recordOffset === g.symOffset);
      expect(target && 'name' in target ? target.name : undefined).toBe(g.name);
    }
  });

  it('nests scopes as the parent/end pointers say', () => {
    for (const m of pdb.modules) {
      const stream = pdb.moduleStream(m.index);
      if (!stream) continue;
      const tree = stream.tree();
      expect(tree.unmatchedEnds).toEqual([]);
      for (const [offset, scope] of tree.scopesByOffset) {
        const s = scope.symbol;
        expect(scope.endSymbol).toBeDefined();
        // yaml2pdb leaves the pointers zero; linkers fill them in.
        if (s.end !== 0) {
          expect({ offset, end: scope.endSymbol!.recordOffset }).toEqual({ offset, end: s.end });
          expect({ offset, parent: scope.parent?.symbol.recordOffset ?? 0 }).toEqual({ offset, parent: s.parent });
        }
      }
    }
  });

  it('reads line tables and inlinee lines', () => {
    const lines = parseLines(section(dump, 'Lines'));
    const inlinees = parseInlineeLines(section(dump, 'Inlinee Lines'));
    for (const m of pdb.modules) {
      const stream = pdb.moduleStream(m.index);
      // LLVM 14 prints the previous module's tables for a module without a stream.
      if (!stream) continue;
      const fileOf = (checksumOffset: number): string => pdb.fileName(stream.checksums.get(checksumOffset)!.fileNameOffset);
      const ours = stream.lines.flatMap((t) =>
        t.blocks.map((b) => ({
          file: fileOf(b.fileChecksumOffset),
          segment: t.relocSegment,
          start: t.relocOffset,
          end: t.relocOffset + t.codeSize,
          entries: b.lines.map((l) => ({ line: l.line, offset: t.relocOffset + l.offset, isStatement: l.isStatement })),
        })),
      );
      expect({ module: m.moduleName, lines: ours }).toEqual({ module: m.moduleName, lines: lines.get(m.index) ?? [] });
      const il = stream.inlineeLines.map((x) => ({
        inlinee: x.inlinee,
        line: x.sourceLine,
        file: fileOf(x.fileChecksumOffset),
        extraFiles: x.extraFiles.map(fileOf),
      }));
      expect({ module: m.moduleName, il }).toEqual({ module: m.moduleName, il: inlinees.get(m.index) ?? [] });
    }
  });

  it('reads section contributions, the section map and section headers', () => {
    const contribs = parseSectionContributions(section(dump, 'Section Contributions'));
    expect(
      pdb.dbi.sectionContributions.map((c) => ({
        module: c.moduleIndex,
        section: c.section,
        offset: c.offset,
        size: c.size,
        dataCrc: c.dataCrc,
        relocCrc: c.relocCrc,
        flags: characteristicNames(c.characteristics),
      })),
    ).toEqual(contribs.map((c) => ({ ...c, flags: [...c.flags].sort() })));
    expect(
      pdb.dbi.sectionMap.entries.map((e) => ({
        ovl: e.overlay,
        group: e.group,
        frame: e.frame,
        name: e.sectionName,
        className: e.className,
        offset: e.offset,
        size: e.sectionLength,
      })),
    ).toEqual(parseSectionMap(section(dump, 'Section Map')));
    expect(
      pdb.sectionHeaders.map((h) => ({ name: h.name, virtualSize: h.virtualSize, virtualAddress: h.virtualAddress, characteristics: h.characteristics })),
    ).toEqual(parseSectionHeaders(section(dump, 'Section Headers')));
  });
});

describe('decoding records compilers rarely emit (yaml2pdb input as oracle)', () => {
  let pdb: PdbFile;
  beforeAll(() => {
    pdb = openPdb(readFileSync(syntheticInput().pdb));
  });

  it('decodes the fields written in records.yaml', () => {
    const byName = <K extends CvSymbol['kind']>(kind: K): Extract<CvSymbol, { kind: K }>[] =>
      pdb.moduleStream(0)!.symbols.filter((s): s is Extract<CvSymbol, { kind: K }> => s.kind === kind);
    expect(pdb.info).toMatchObject({ age: 3, signature: 1234, guid: '11223344-5566-7788-99AA-BBCCDDEEFF00' });
    expect(byName('S_GPROC32_ID')[0]).toMatchObject({ name: 'syn_func', codeSize: 16, debugStart: 1, debugEnd: 15, typeIndex: 4098, segment: 1, offset: 32, flags: 1 });
    expect(byName('S_LPROC32_ID')[0]).toMatchObject({ name: 'syn_local', codeSize: 4, typeIndex: 4100, offset: 96 });
    expect(byName('S_BPREL32')[0]).toMatchObject({ offset: -8, typeIndex: 116, name: 'bp_local' });
    expect(byName('S_LABEL32')[0]).toMatchObject({ segment: 1, offset: 40, flags: 0, name: 'syn_label' });
    expect(byName('S_CALLSITEINFO')[0]).toMatchObject({ segment: 1, offset: 44, typeIndex: 4099 });
    expect(byName('S_LOCAL')[0]).toMatchObject({ isParam: true, isOptimizedOut: false, name: 'sub_local' });
    expect(byName('S_DEFRANGE_SUBFIELD_REGISTER')[0]).toMatchObject({
      register: 17,
      mayHaveNoName: false,
      offsetInParent: 4,
      range: { offset: 32, segment: 1, length: 10 },
      gaps: [
        { gapStartOffset: 2, length: 3 },
        { gapStartOffset: 7, length: 1 },
      ],
    });
    expect(byName('S_DEFRANGE_FRAMEPOINTER_REL_FULL_SCOPE')[0]).toMatchObject({ offset: -24 });
    expect(byName('S_BLOCK32')[0]).toMatchObject({ codeSize: 4, offset: 36, segment: 1, name: 'inner' });
    expect(byName('S_THUNK32')[0]).toMatchObject({ offset: 64, segment: 1, length: 5, ordinal: 0 });
    expect(byName('S_TRAMPOLINE')[0]).toMatchObject({ trampolineType: 0, size: 5, thunkOffset: 80, targetOffset: 32, thunkSection: 1, targetSection: 2 });
    expect(byName('unknown')[0]).toMatchObject({ kindValue: 0x1153 });

    const lines = pdb.moduleStream(0)!.lines[0]!;
    expect(lines).toMatchObject({ relocOffset: 32, relocSegment: 1, codeSize: 16, hasColumns: true });
    expect(lines.blocks.map((b) => b.lines)).toEqual([
      [
        { offset: 0, line: 10, deltaLineEnd: 0, isStatement: true, startColumn: 3, endColumn: 9 },
        { offset: 6, line: 11, deltaLineEnd: 2, isStatement: false, startColumn: 5, endColumn: 0 },
      ],
      [{ offset: 10, line: 4, deltaLineEnd: 0, isStatement: true, startColumn: 1, endColumn: 2 }],
    ]);
    const checksums = [...pdb.moduleStream(0)!.checksums.values()];
    expect(checksums.map((c) => ({ file: pdb.fileName(c.fileNameOffset), kind: c.kind, bytes: Buffer.from(c.checksum).toString('hex') }))).toEqual([
      { file: 'c:\\src\\syn.c', kind: 3, bytes: '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff' },
      { file: 'c:\\src\\syn.h', kind: 0, bytes: '' },
    ]);
    expect(pdb.moduleStream(1)).toBeUndefined();
    expect(pdb.publics).toBeUndefined();
    expect(pdb.globals).toBeUndefined();
  });
});
