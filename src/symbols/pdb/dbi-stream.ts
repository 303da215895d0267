/**
 * The DBI stream (stream 3): header, then module info, section contributions,
 * section map, file info, type server map, edit-and-continue names and the
 * optional debug header, in that order. Each substream gets its own reader so
 * an error names the substream and its offset within the DBI stream.
 */
import { CvReader } from '../codeview/cv-reader';
import { DBI_HEADER_SIZE, readDbiHeader } from './dbi-header';
import type { DbiHeader } from './dbi-header';
import { readFileInfo, readModuleInfos } from './dbi-modules';
import type { DbiModule } from './dbi-modules';
import { readDebugStreams } from './section-headers';
import type { DebugStreams } from './section-headers';
import { readSectionContributions } from './section-contribs';
import type { SectionContribution } from './section-contribs';
import { readSectionMap } from './section-map';
import type { SectionMap } from './section-map';
import { PDB_STREAM_DBI, streamPart } from './streams';
import { readStringTable } from './string-table';
import type { StringTable } from './string-table';

export interface DbiStream {
  header: DbiHeader;
  modules: DbiModule[];
  sectionContributions: SectionContribution[];
  sectionMap: SectionMap;
  /** Names the module records refer to (PDB path, source names); absent in some PDBs. */
  ecNames: StringTable | undefined;
  debugStreams: DebugStreams;
}

const part = (detail: string): string => streamPart(PDB_STREAM_DBI, 'DBI', detail);

export function readDbiStream(data: Uint8Array): DbiStream {
  const header = readDbiHeader(new CvReader(data, 'PDB', part('header')));
  let at = DBI_HEADER_SIZE;
  const substream = (size: number, name: string): CvReader => {
    const r = new CvReader(data.subarray(at, at + size), 'PDB', part(name), 0, at);
    at += size;
    return r;
  };
  const modInfo = substream(header.modInfoSize, 'module info');
  const contribs = substream(header.sectionContributionSize, 'section contributions');
  const secMap = substream(header.sectionMapSize, 'section map');
  const fileInfo = substream(header.sourceInfoSize, 'file info');
  substream(header.typeServerMapSize, 'type server map');
  const ec = substream(header.ecSubstreamSize, 'EC names');
  const dbg = substream(header.optionalDbgHeaderSize, 'optional debug header');

  const modules = readModuleInfos(modInfo);
  readFileInfo(fileInfo, modules);
  return {
    header,
    modules,
    sectionContributions: readSectionContributions(contribs),
    sectionMap: readSectionMap(secMap),
    ecNames: ec.length > 0 ? readStringTable(ec.data, part('EC names'), ec.base) : undefined,
    debugStreams: readDebugStreams(dbg),
  };
}
