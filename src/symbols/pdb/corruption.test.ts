/**
 * Malformed input: every stream reader, fed a truncated or bit-flipped copy of
 * a real stream, and the whole pipeline fed a corrupted file, must either
 * succeed or throw SymbolFormatError, and must do so quickly.
 */
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { SymbolFormatError } from '../format-error';
import { buildDebugModel } from './debug-model-builder';
import { readDbiStream } from './dbi-stream';
import { readGlobalsStream } from './globals-stream';
import { readInfoStream } from './info-stream';
import { readModuleStream } from './module-stream';
import { openPdb } from './pdb-file';
import type { PdbFile } from './pdb-file';
import { readPublicsStream } from './publics-stream';
import { readStringTable } from './string-table';
import { SymbolIndex } from './symbol-index';
import { SymbolRecordStream } from './symbol-record-stream';
import { decodeSymbols } from './symbol-records';
import { extraInput, fixtureInputFrom } from './testing/inputs';
import type { PdbInput } from './testing/inputs';

const fixtureInput = (): PdbInput => fixtureInputFrom(buildSymbolFixture);

/** Runs `f`; a SymbolFormatError is an acceptable outcome, anything else fails the test. */
function tolerates(f: () => unknown): void {
  const start = Date.now();
  try {
    f();
  } catch (e) {
    if (!(e instanceof SymbolFormatError)) throw e;
  }
  const ms = Date.now() - start;
  if (ms > 2000) throw new Error(`parse took ${ms} ms`);
}

/** Everything a consumer would ask of a PDB. */
function useEverything(pdb: PdbFile): void {
  void pdb.info;
  void pdb.names?.ids.map((id) => pdb.names!.string(id));
  void pdb.dbi;
  void pdb.sectionHeaders;
  void pdb.publics;
  void pdb.globals;
  for (const m of pdb.modules) {
    const s = pdb.moduleStream(m.index);
    s?.tree();
  }
  const index = SymbolIndex.fromPdb(pdb);
  index.functionAt(0x1000);
  index.lineAt(0x1000);
  index.rvasForLine('alpha.c', 20);
  buildDebugModel(pdb, { imageName: 'x' });
}

interface StreamCase {
  name: string;
  data: Uint8Array;
  parse: (d: Uint8Array) => unknown;
}

function streamCases(pdb: PdbFile): StreamCase[] {
  const msf = pdb.msf;
  const h = pdb.dbi.header;
  const records = new SymbolRecordStream(msf.stream(h.symRecordStreamIndex!), h.symRecordStreamIndex!);
  const names = pdb.namedStream('/names')!;
  const cases: StreamCase[] = [
    { name: 'info', data: msf.stream(1), parse: readInfoStream },
    { name: 'DBI', data: msf.stream(3), parse: readDbiStream },
    { name: '/names', data: msf.stream(names), parse: (d) => readStringTable(d, 'names') },
    { name: 'publics', data: msf.stream(h.publicStreamIndex!), parse: (d) => readPublicsStream(d, 7, records) },
    { name: 'globals', data: msf.stream(h.globalStreamIndex!), parse: (d) => readGlobalsStream(d, 6, records).symbols },
    { name: 'symbol records', data: records.data, parse: (d) => decodeSymbols(d, 'PDB', 'records') },
    {
      name: 'publics over corrupt records',
      data: records.data,
      parse: (d) => readPublicsStream(msf.stream(h.publicStreamIndex!), 7, new SymbolRecordStream(d, 8)),
    },
  ];
  for (const m of pdb.modules) {
    if (m.symbolStream === undefined) continue;
    cases.push({ name: `module ${m.moduleName}`, data: msf.stream(m.symbolStream), parse: (d) => readModuleStream(d, m, m.symbolStream!).tree() });
  }
  return cases;
}

describe.each([
  ['fixture', fixtureInput],
  ['extra', extraInput],
])('corrupt streams of the %s PDB', (_name, input) => {
  let bytes: Uint8Array;
  let cases: StreamCase[];
  beforeAll(() => {
    bytes = new Uint8Array(readFileSync(input().pdb));
    cases = streamCases(openPdb(bytes));
  });

  it('parses the intact streams', () => {
    for (const c of cases) expect(() => c.parse(c.data)).not.toThrow();
  });

  it('gives a result or a SymbolFormatError for a stream cut at any offset', () => {
    for (const c of cases) {
      for (let n = 0; n < c.data.length; n++) tolerates(() => c.parse(c.data.slice(0, n)));
    }
  });

  it('gives a result or a SymbolFormatError for random byte changes in any stream', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 1000 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        (which, flips) => {
          const c = cases[which % cases.length]!;
          const d = c.data.slice();
          for (const [at, v] of flips) d[Math.floor(at * d.length)] = v;
          tolerates(() => c.parse(d));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('gives a result or a SymbolFormatError for a corrupted file, all the way to the symbol index', () => {
    const pdb = openPdb(bytes);
    // Flip bytes inside the blocks of the streams we read (not TPI/IPI or free blocks).
    const bs = pdb.msf.superBlock.blockSize;
    const streams = [1, 3, pdb.namedStream('/names')!, ...[pdb.dbi.header.globalStreamIndex, pdb.dbi.header.publicStreamIndex, pdb.dbi.header.symRecordStreamIndex, pdb.dbi.debugStreams.sectionHeaders]];
    for (const m of pdb.modules) if (m.symbolStream !== undefined) streams.push(m.symbolStream);
    const hot = streams.flatMap((s) => (s === undefined ? [] : pdb.msf.streamBlocks(s).flatMap((b) => Array.from({ length: Math.min(bs, pdb.msf.streamSize(s)!) }, (_, i) => b * bs + i))));
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom(...hot), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 12 }), (flips) => {
        const f = Uint8Array.from(bytes);
        for (const [at, v] of flips) f[at] = v;
        tolerates(() => useEverything(openPdb(f)));
      }),
      { numRuns: 300 },
    );
  });
});
