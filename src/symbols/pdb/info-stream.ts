/**
 * The PDB info stream (stream 1): the identity a PE image's debug directory
 * points at (GUID, age), the named-stream map that locates '/names' and other
 * streams without fixed numbers, and the feature codes that say which optional
 * streams (such as the IPI stream) the writer produced.
 */
import { CvReader } from '../codeview/cv-reader';
import { readHashTable } from './hash-table';
import { PDB_STREAM_INFO, streamPart } from './streams';

export const PDB_VERSION_VC70 = 20000404;

export const PDB_FEATURE_VC110 = 20091201;
export const PDB_FEATURE_VC140 = 20140508;
export const PDB_FEATURE_NO_TYPE_MERGE = 0x4d544f4e;
export const PDB_FEATURE_MINIMAL_DEBUG_INFO = 0x494e494d;

export interface PdbInfo {
  version: number;
  /** Time-stamp-like signature, also written into the image by old linkers. */
  signature: number;
  age: number;
  /** Registry form, upper case, no braces: 'C59BA083-2D07-740E-4C4C-44205044422E'. */
  guid: string;
  /** Named streams, e.g. '/names' -> 15, '/LinkInfo' -> 5. */
  namedStreams: ReadonlyMap<string, number>;
  featureCodes: readonly number[];
  /** VC140 feature: the PDB has an IPI (id) stream. */
  hasIdStream: boolean;
  noTypeMerge: boolean;
  minimalDebugInfo: boolean;
}

export function readInfoStream(data: Uint8Array): PdbInfo {
  const r = new CvReader(data, 'PDB', streamPart(PDB_STREAM_INFO, 'PDB info'));
  const version = r.u32();
  const signature = r.u32();
  const age = r.u32();
  const guid = r.guid();

  const stringsAt = r.offset;
  const stringBytes = r.u32();
  const strings = new CvReader(r.bytes(stringBytes), 'PDB', streamPart(PDB_STREAM_INFO, 'PDB info', 'named stream names'), 0, stringsAt + 4);
  const namedStreams = new Map<string, number>();
  for (const { key, value } of readHashTable(r)) {
    if (key >= stringBytes) strings.fail(`named stream name offset ${key} outside ${stringBytes} bytes`, 0);
    strings.seek(key);
    namedStreams.set(strings.cstring(), value);
  }
  // The map is followed by a zero word (the writers' trailing "niMac" count),
  // then the feature codes; zero is no feature, so it is simply skipped.
  const featureCodes: number[] = [];
  while (r.remaining >= 4) {
    const code = r.u32();
    if (code !== 0) featureCodes.push(code);
  }
  const has = (code: number): boolean => featureCodes.includes(code);
  return {
    version,
    signature,
    age,
    guid,
    namedStreams,
    featureCodes,
    hasIdStream: has(PDB_FEATURE_VC140),
    noTypeMerge: has(PDB_FEATURE_NO_TYPE_MERGE),
    minimalDebugInfo: has(PDB_FEATURE_MINIMAL_DEBUG_INFO),
  };
}
