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
  ) {
    this.part = streamPart(streamIndex, 'symbol records');
  }

  at(offset: number): CvSymbol {
    let s = this.cache.get(offset);
    if (!s) {
      s = decodeSymbolAt(this.data, offset, 'PDB', this.part);
      this.cache.set(offset, s);
    }
    return s;
  }
}
