/**
 * Fixed PDB stream numbers and how streams are named in error messages, so a
 * report says 'stream 3 (DBI) module info' rather than a bare number.
 */
import { CvReader } from '../codeview/cv-reader';

export const PDB_STREAM_INFO = 1;
export const PDB_STREAM_TPI = 2;
export const PDB_STREAM_DBI = 3;
export const PDB_STREAM_IPI = 4;

/** Stream index meaning "no stream" in the 16-bit fields of DBI and module info. */
export const NO_STREAM = 0xffff;

export function streamPart(index: number, name: string, detail?: string): string {
  return `stream ${index} (${name})${detail ? ` ${detail}` : ''}`;
}

/** A reader over a whole PDB stream, reporting errors as 'PDB' with the stream's name. */
export function streamReader(data: Uint8Array, index: number, name: string, detail?: string): CvReader {
  return new CvReader(data, 'PDB', streamPart(index, name, detail));
}
