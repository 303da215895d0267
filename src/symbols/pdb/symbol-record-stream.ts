/**
 * The symbol record stream: the records that publics and globals point at.
 * Records are decoded on demand (and cached) because a lookup by name or
 * address touches only a few of them.
 */
import { decodeSymbolAt } from './symbol-records';
import type { CvSymbol } from './symbol-records';
import { streamPart } from './streams';

export class SymbolRecordStream {
  private readonly cache = new Map<number, CvSymbol>();
  readonly part: string;

  constructor(
    readonly data: Uint8Array,
    readonly streamIndex: number,
    /** false: decode on every call and keep nothing (for one pass over all records). */
    private readonly caching = true,
  ) {
    this.part = streamPart(streamIndex, 'symbol records');
  }

  at(offset: number): CvSymbol {
    let s = this.cache.get(offset);
    if (!s) {
      s = decodeSymbolAt(this.data, offset, 'PDB', this.part);
      if (this.caching) this.cache.set(offset, s);
    }
    return s;
  }

  /** The numeric kind of the record at `offset`, undefined when its header is not there (`at` reports why). */
  kindAt(offset: number): number | undefined {
    const d = this.data;
    if (!Number.isInteger(offset) || offset < 0 || offset + 4 > d.length) return undefined;
    return d[offset + 2]! | (d[offset + 3]! << 8);
  }
}
