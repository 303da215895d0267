/**
 * The fixed 64-byte header of the DBI stream (stream 3). It names the streams
 * that hold globals, publics and symbol records, and gives the sizes of the
 * substreams that follow it in a fixed order.
 */
import type { CvReader } from '../codeview/cv-reader';
import { NO_STREAM } from './streams';

export const DBI_HEADER_SIZE = 64;
export const DBI_VERSION_V70 = 19990903;

export const IMAGE_FILE_MACHINE_AMD64 = 0x8664;
export const IMAGE_FILE_MACHINE_I386 = 0x14c;
export const IMAGE_FILE_MACHINE_ARM64 = 0xaa64;

export interface DbiHeader {
  versionHeader: number;
  age: number;
  /** Stream numbers; undefined when the header says 0xFFFF (absent). */
  globalStreamIndex: number | undefined;
  publicStreamIndex: number | undefined;
  symRecordStreamIndex: number | undefined;
  buildNumber: number;
  /** Toolchain version from the build number: major.minor. */
  toolchainMajor: number;
  toolchainMinor: number;
  pdbDllVersion: number;
  pdbDllRebuild: number;
  modInfoSize: number;
  sectionContributionSize: number;
  sectionMapSize: number;
  sourceInfoSize: number;
  typeServerMapSize: number;
  mfcTypeServerIndex: number;
  optionalDbgHeaderSize: number;
  ecSubstreamSize: number;
  flags: number;
  incrementallyLinked: boolean;
  privateSymbolsStripped: boolean;
  hasConflictingTypes: boolean;
  machine: number;
}

const optionalStream = (v: number): number | undefined => (v === NO_STREAM ? undefined : v);

export function readDbiHeader(r: CvReader): DbiHeader {
  if (r.length < DBI_HEADER_SIZE) r.fail(`DBI stream is ${r.length} bytes, shorter than its ${DBI_HEADER_SIZE}-byte header`, 0);
  const signature = r.i32();
  if (signature !== -1) r.fail(`version signature ${signature}, expected -1 (only the "new" DBI format is supported)`, 0);
  const versionHeader = r.u32();
  const age = r.u32();
  const globalStreamIndex = optionalStream(r.u16());
  const buildNumber = r.u16();
  const publicStreamIndex = optionalStream(r.u16());
  const pdbDllVersion = r.u16();
  const symRecordStreamIndex = optionalStream(r.u16());
  const pdbDllRebuild = r.u16();
  const sizes: number[] = [];
  for (let i = 0; i < 5; i++) sizes.push(r.i32());
  const mfcTypeServerIndex = r.u32();
  sizes.push(r.i32(), r.i32());
  const flags = r.u16();
  const machine = r.u16();
  r.u32(); // padding
  const [modInfoSize, sectionContributionSize, sectionMapSize, sourceInfoSize, typeServerMapSize, optionalDbgHeaderSize, ecSubstreamSize] =
    sizes as [number, number, number, number, number, number, number];
  sizes.forEach((s, i) => {
    if (s < 0) r.fail(`substream size ${s} is negative`, 24 + i * 4 + (i >= 5 ? 4 : 0));
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > r.length - DBI_HEADER_SIZE) {
    r.fail(`substreams total ${total} bytes, the stream has ${r.length - DBI_HEADER_SIZE} after the header`, 24);
  }
  return {
    versionHeader,
    age,
    globalStreamIndex,
    publicStreamIndex,
    symRecordStreamIndex,
    buildNumber,
    toolchainMajor: (buildNumber >> 8) & 0x7f,
    toolchainMinor: buildNumber & 0xff,
    pdbDllVersion,
    pdbDllRebuild,
    modInfoSize,
    sectionContributionSize,
    sectionMapSize,
    sourceInfoSize,
    typeServerMapSize,
    mfcTypeServerIndex,
    optionalDbgHeaderSize,
    ecSubstreamSize,
    flags,
    incrementallyLinked: (flags & 1) !== 0,
    privateSymbolsStripped: (flags & 2) !== 0,
    hasConflictingTypes: (flags & 4) !== 0,
    machine,
  };
}
