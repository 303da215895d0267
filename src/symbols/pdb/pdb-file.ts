/**
 * A PDB file: the MSF container plus lazily parsed streams. Opening validates
 * only the container and the info stream; DBI, publics, globals and each
 * module's stream are parsed the first time they are asked for, so a lookup
 * that needs one module does not pay for all of them.
 */
import { CvReader } from '../codeview/cv-reader';
import { SymbolFormatError } from '../format-error';
import { MsfFile } from '../msf/msf-file';
import { readDbiStream } from './dbi-stream';
import type { DbiStream } from './dbi-stream';
import type { DbiModule } from './dbi-modules';
import { readGlobalsStream } from './globals-stream';
import { readGsiHash } from './gsi';
import type { GlobalsStream } from './globals-stream';
import { readInfoStream } from './info-stream';
import type { PdbInfo } from './info-stream';
import { readModuleStream, readModuleSummary, visitModuleSymbols } from './module-stream';
import type { ModuleStream, ModuleSummary } from './module-stream';
import { readPublicsStream } from './publics-stream';
import type { PublicsStream } from './publics-stream';
import { mapOmap, readOmap, readSectionHeaders } from './section-headers';
import type { OmapEntry, SectionHeader } from './section-headers';
import { PDB_STREAM_DBI, PDB_STREAM_INFO, PDB_STREAM_IPI, PDB_STREAM_TPI, streamPart } from './streams';
import { readStringTable } from './string-table';
import type { StringTable } from './string-table';
import { SymbolRecordStream } from './symbol-record-stream';
import type { CvSymbol } from './symbol-records';

/** Memoizes one parse; a parse that threw throws the same error again. */
function lazy<T>(compute: () => T): () => T {
  let done = false;
  let value: T;
  let error: unknown;
  return () => {
    if (!done) {
      try {
        value = compute();
      } catch (e) {
        error = e;
      }
      done = true;
    }
    if (error !== undefined) throw error;
    return value;
  };
}

interface AddressMapping {
  headers: SectionHeader[];
  /** Present when a post-link tool reordered the image: original address -> image RVA. */
  omapFromSource: OmapEntry[] | undefined;
}

export class PdbFile {
  private readonly infoLazy = lazy(() => readInfoStream(this.requireStream(PDB_STREAM_INFO, 'PDB info')));
  private readonly dbiLazy = lazy(() => readDbiStream(this.requireStream(PDB_STREAM_DBI, 'DBI')));
  private readonly namesLazy = lazy((): StringTable | undefined => {
    const index = this.info.namedStreams.get('/names');
    if (index === undefined || !this.msf.hasStream(index)) return undefined;
    return readStringTable(this.msf.stream(index), streamPart(index, '/names'));
  });
  private readonly recordsLazy = lazy((): SymbolRecordStream | undefined => {
    const index = this.dbi.header.symRecordStreamIndex;
    if (index === undefined || !this.msf.hasStream(index)) return undefined;
    return new SymbolRecordStream(this.msf.stream(index), index);
  });
  private readonly publicsLazy = lazy((): PublicsStream | undefined => {
    const index = this.dbi.header.publicStreamIndex;
    const records = this.symbolRecords;
    if (index === undefined || !this.msf.hasStream(index) || !records) return undefined;
    return readPublicsStream(this.msf.stream(index), index, records);
  });
  private readonly globalsLazy = lazy((): GlobalsStream | undefined => {
    const index = this.dbi.header.globalStreamIndex;
    const records = this.symbolRecords;
    if (index === undefined || !this.msf.hasStream(index) || !records) return undefined;
    return readGlobalsStream(this.msf.stream(index), index, records);
  });
  private readonly mappingLazy = lazy((): AddressMapping => {
    const dbg = this.dbi.debugStreams;
    const headersFrom = (index: number | undefined, name: string): SectionHeader[] | undefined =>
      index === undefined || !this.msf.hasStream(index)
        ? undefined
        : readSectionHeaders(new CvReader(this.msf.stream(index), 'PDB', streamPart(index, name)));
    const original = headersFrom(dbg.originalSectionHeaders, 'original section headers');
    const omapIndex = dbg.omapFromSource;
    if (original && omapIndex !== undefined && this.msf.hasStream(omapIndex)) {
      const omap = readOmap(new CvReader(this.msf.stream(omapIndex), 'PDB', streamPart(omapIndex, 'OMAP from source')));
      return { headers: original, omapFromSource: omap };
    }
    return { headers: headersFrom(dbg.sectionHeaders, 'section headers') ?? [], omapFromSource: undefined };
  });
  private readonly imageHeadersLazy = lazy(
    (): SectionHeader[] => {
      const index = this.dbi.debugStreams.sectionHeaders;
      if (index === undefined || !this.msf.hasStream(index)) return [];
      return readSectionHeaders(new CvReader(this.msf.stream(index), 'PDB', streamPart(index, 'section headers')));
    },
  );
  private readonly moduleCache = new Map<number, () => ModuleStream | undefined>();

  private constructor(readonly msf: MsfFile) {}

  /** Opens a PDB; reads the container and the info stream at once so a non-PDB fails here. */
  static open(bytes: Uint8Array): PdbFile {
    const pdb = new PdbFile(MsfFile.open(bytes));
    void pdb.info;
    return pdb;
  }

  get info(): PdbInfo {
    return this.infoLazy();
  }

  get dbi(): DbiStream {
    return this.dbiLazy();
  }

  get modules(): readonly DbiModule[] {
    return this.dbi.modules;
  }

  /** The '/names' string table; undefined when the PDB has none. */
  get names(): StringTable | undefined {
    return this.namesLazy();
  }

  get symbolRecords(): SymbolRecordStream | undefined {
    return this.recordsLazy();
  }

  get publics(): PublicsStream | undefined {
    return this.publicsLazy();
  }

  get globals(): GlobalsStream | undefined {
    return this.globalsLazy();
  }

  /**
   * The publics stream read afresh, its records decoded without going into
   * the PdbFile's caches: for a caller that walks every public once (building
   * a symbol table) and should not keep them all alive afterwards. The same
   * checks and errors as `publics`.
   */
  readPublicsOnce(): PublicsStream | undefined {
    const index = this.dbi.header.publicStreamIndex;
    const records = this.freshSymbolRecords();
    if (index === undefined || !this.msf.hasStream(index) || !records) return undefined;
    return readPublicsStream(this.msf.stream(index), index, records);
  }

  /**
   * The global records whose kinds `want` accepts, in hash order, read afresh
   * and not cached, like `readPublicsOnce`. Records of other kinds (a large
   * image has a procedure reference per function) are not decoded.
   */
  readGlobalsOnce(want: (kindValue: number) => boolean = () => true): CvSymbol[] | undefined {
    const index = this.dbi.header.globalStreamIndex;
    const records = this.freshSymbolRecords();
    if (index === undefined || !this.msf.hasStream(index) || !records) return undefined;
    const hash = readGsiHash(new CvReader(this.msf.stream(index), 'PDB', streamPart(index, 'globals')));
    const out: CvSymbol[] = [];
    for (const h of hash.records) {
      const kind = records.kindAt(h.symOffset);
      // An unreadable header is decoded anyway, so that the error is the one `globals` gives.
      if (kind === undefined || want(kind)) out.push(records.at(h.symOffset));
    }
    return out;
  }

  private freshSymbolRecords(): SymbolRecordStream | undefined {
    const index = this.dbi.header.symRecordStreamIndex;
    if (index === undefined || !this.msf.hasStream(index)) return undefined;
    return new SymbolRecordStream(this.msf.stream(index), index, false);
  }

  /** The image's section headers as the linker recorded them (after any post-link rewrite). */
  get sectionHeaders(): readonly SectionHeader[] {
    return this.imageHeadersLazy();
  }

  /** Stream number of a named stream ('/names', '/LinkInfo', ...). */
  namedStream(name: string): number | undefined {
    return this.info.namedStreams.get(name);
  }

  /** The TPI stream's bytes (the type decoder's input); undefined when absent. */
  get tpiStream(): Uint8Array | undefined {
    return this.msf.hasStream(PDB_STREAM_TPI) ? this.msf.stream(PDB_STREAM_TPI) : undefined;
  }

  get ipiStream(): Uint8Array | undefined {
    return this.msf.hasStream(PDB_STREAM_IPI) ? this.msf.stream(PDB_STREAM_IPI) : undefined;
  }

  /**
   * A module's symbols and line tables; undefined for modules without a debug
   * stream (assembly objects, import stubs).
   */
  moduleStream(moduleIndex: number): ModuleStream | undefined {
    let get = this.moduleCache.get(moduleIndex);
    if (!get) {
      get = lazy(() => {
        const module = this.module(moduleIndex);
        const index = module.symbolStream;
        if (index === undefined || !this.msf.hasStream(index)) return undefined;
        return readModuleStream(this.msf.stream(index), module, index);
      });
      this.moduleCache.set(moduleIndex, get);
    }
    return get();
  }

  /**
   * A module's line tables, files and the symbols of the kinds `want` accepts,
   * read afresh and not kept: for building a symbol table once, without
   * holding every module's decoded records for the life of the PdbFile.
   */
  moduleSummary(moduleIndex: number, want: (kindValue: number) => boolean): ModuleSummary | undefined {
    const module = this.module(moduleIndex);
    const index = module.symbolStream;
    if (index === undefined || !this.msf.hasStream(index)) return undefined;
    return readModuleSummary(this.msf.stream(index), module, index, want);
  }

  /**
   * The module's symbol records of the kinds `want` accepts, handed to
   * `visit` one at a time as they are decoded and not kept (see
   * forEachSymbolOfKinds); nothing for modules without a debug stream.
   */
  visitModuleSymbols(moduleIndex: number, want: (kindValue: number) => boolean, visit: (symbol: CvSymbol) => void): void {
    const module = this.module(moduleIndex);
    const index = module.symbolStream;
    if (index === undefined || !this.msf.hasStream(index)) return;
    visitModuleSymbols(this.msf.stream(index), module, index, want, visit);
  }

  private module(moduleIndex: number): DbiModule {
    const module = this.modules[moduleIndex];
    if (!module) {
      throw new SymbolFormatError(
        { file: 'PDB', part: streamPart(PDB_STREAM_DBI, 'DBI', 'module info'), offset: 0 },
        `module ${moduleIndex} requested, the PDB has ${this.modules.length}`,
      );
    }
    return module;
  }

  private requireStream(index: number, name: string): Uint8Array {
    if (!this.msf.hasStream(index)) {
      throw new SymbolFormatError({ file: 'PDB', part: streamPart(index, name), offset: 0 }, `the PDB has no ${name} stream`);
    }
    return this.msf.stream(index);
  }

  /** A file name from '/names' by offset (as file checksums store it). */
  fileName(nameOffset: number): string {
    const names = this.names;
    if (!names) {
      throw new SymbolFormatError({ file: 'PDB', part: 'named stream map', offset: 0 }, `file name ${nameOffset} requested but the PDB has no /names stream`);
    }
    return names.string(nameOffset);
  }

  /**
   * segment:offset (1-based section number) -> RVA; undefined for section 0,
   * unknown sections, and addresses an OMAP table says were removed.
   */
  rvaOf(segment: number, offset: number): number | undefined {
    const { headers, omapFromSource } = this.mappingLazy();
    const h = segment >= 1 ? headers[segment - 1] : undefined;
    if (!h) return undefined;
    const address = (h.virtualAddress + offset) >>> 0;
    return omapFromSource ? mapOmap(omapFromSource, address) : address;
  }
}

export function openPdb(bytes: Uint8Array): PdbFile {
  return PdbFile.open(bytes);
}
