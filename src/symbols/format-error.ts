/**
 * One error type for every malformed or truncated symbol file. It names the file
 * kind, the part (a PE directory, an MSF stream, a CodeView record) and the byte
 * offset inside that part, so a user can report or inspect the exact spot, and
 * callers can catch symbol problems without catching everything else.
 */
import { JosgdbError } from '../common/errors';

export interface FormatLocation {
  /** 'PE', 'MSF', 'PDB', 'ELF'... */
  file: string;
  /** The part being read: 'section table', 'stream 3 (DBI)', 'TPI record 0x1003'. */
  part: string;
  /** Byte offset inside that part. */
  offset: number;
}

export class SymbolFormatError extends JosgdbError {
  constructor(
    readonly location: FormatLocation,
    detail: string,
  ) {
    super(
      'SYMBOL_FORMAT',
      `${location.file}: ${location.part} at offset 0x${location.offset.toString(16)}: ${detail}`,
    );
    this.name = 'SymbolFormatError';
  }
}
