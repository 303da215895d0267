/**
 * An MSF container ("multi-stream file", the PDB's outer format): a file of
 * fixed-size blocks holding numbered streams. `MsfFile` validates the layout
 * once, then hands out each stream as one contiguous Uint8Array, assembled
 * from its blocks on first use.
 */
import { SymbolFormatError } from '../format-error';
import { assembleDirectory, parseDirectory } from './directory';
import type { MsfStreamEntry } from './directory';
import { readSuperBlock } from './superblock';
import type { MsfSuperBlock } from './superblock';

export class MsfFile {
  private readonly cache = new Map<number, Uint8Array>();

  private constructor(
    readonly bytes: Uint8Array,
    readonly superBlock: MsfSuperBlock,
    private readonly entries: readonly MsfStreamEntry[],
  ) {}

  /**
   * Streams are views into `bytes` where possible, so the caller must not
   * modify it afterwards. A Buffer is viewed as a plain Uint8Array, so that
   * `slice()` on a stream copies as it does for any typed array.
   */
  static open(input: Uint8Array): MsfFile {
    const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
    const sb = readSuperBlock(bytes);
    const entries = parseDirectory(assembleDirectory(bytes, sb), sb);
    return new MsfFile(bytes, sb, entries);
  }

  get streamCount(): number {
    return this.entries.length;
  }

  /** True when the stream number exists in the directory and is not nil. */
  hasStream(index: number): boolean {
    const e = this.entries[index];
    return e !== undefined && !e.nil;
  }

  /** Size of a stream in bytes; undefined for a nil or missing stream. */
  streamSize(index: number): number | undefined {
    const e = this.entries[index];
    return e === undefined || e.nil ? undefined : e.size;
  }

  streamBlocks(index: number): readonly number[] {
    return this.entry(index).blocks;
  }

  /**
   * The stream's bytes. Nil streams read as empty; a stream number outside the
   * directory is a format error, since only a corrupt index can name one.
   * Streams that happen to be stored in consecutive blocks are returned as a
   * view without copying.
   */
  stream(index: number): Uint8Array {
    const cached = this.cache.get(index);
    if (cached) return cached;
    const e = this.entry(index);
    const bs = this.superBlock.blockSize;
    let data: Uint8Array;
    const first = e.blocks[0];
    if (first === undefined) {
      data = new Uint8Array(0);
    } else if (e.blocks.every((b, i) => b === first + i)) {
      data = this.bytes.subarray(first * bs, first * bs + e.size);
    } else {
      data = new Uint8Array(e.size);
      e.blocks.forEach((b, i) => {
        const len = Math.min(bs, e.size - i * bs);
        data.set(this.bytes.subarray(b * bs, b * bs + len), i * bs);
      });
    }
    this.cache.set(index, data);
    return data;
  }

  private entry(index: number): MsfStreamEntry {
    const e = Number.isInteger(index) ? this.entries[index] : undefined;
    if (!e) {
      throw new SymbolFormatError(
        { file: 'MSF', part: 'stream directory', offset: 0 },
        `stream ${index} requested, the directory has ${this.entries.length}`,
      );
    }
    return e;
  }
}

export function openMsf(bytes: Uint8Array): MsfFile {
  return MsfFile.open(bytes);
}
