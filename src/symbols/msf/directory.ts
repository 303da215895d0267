/**
 * The MSF stream directory: how many streams there are, their sizes and the
 * blocks each occupies. The directory itself is scattered over blocks listed in
 * the block map, so it is assembled first and then parsed.
 */
import { CvReader } from '../codeview/cv-reader';
import type { MsfSuperBlock } from './superblock';

/** Stream size recorded for a stream that does not exist (as opposed to an empty one). */
export const NIL_STREAM_SIZE = 0xffffffff;

export interface MsfStreamEntry {
  /** Size in bytes; 0 for a nil stream (see `nil`). */
  size: number;
  /** True when the directory records the stream as absent (size 0xFFFFFFFF). */
  nil: boolean;
  blocks: readonly number[];
}

export function blockCount(size: number, blockSize: number): number {
  return Math.ceil(size / blockSize);
}

function checkBlock(r: CvReader, block: number, sb: MsfSuperBlock, what: string, at: number): void {
  if (block >= sb.numBlocks) r.fail(`${what} names block ${block}, the file has ${sb.numBlocks}`, at);
}

/** Copies the directory's bytes out of the blocks the block map lists. */
export function assembleDirectory(file: Uint8Array, sb: MsfSuperBlock): Uint8Array {
  const mapStart = sb.blockMapAddr * sb.blockSize;
  const mapReader = new CvReader(file.subarray(mapStart, mapStart + sb.blockSize), 'MSF', 'block map');
  const n = blockCount(sb.numDirectoryBytes, sb.blockSize);
  const out = new Uint8Array(sb.numDirectoryBytes);
  for (let i = 0; i < n; i++) {
    const at = mapReader.offset;
    const block = mapReader.u32();
    checkBlock(mapReader, block, sb, `directory block ${i}`, at);
    const start = block * sb.blockSize;
    const len = Math.min(sb.blockSize, sb.numDirectoryBytes - i * sb.blockSize);
    out.set(file.subarray(start, start + len), i * sb.blockSize);
  }
  return out;
}

export function parseDirectory(directory: Uint8Array, sb: MsfSuperBlock): MsfStreamEntry[] {
  const r = new CvReader(directory, 'MSF', 'stream directory');
  const count = r.u32();
  // Sizes alone take 4 bytes per stream; checking before allocating keeps a
  // corrupt count from asking for billions of entries.
  if (count > r.remaining / 4) r.fail(`${count} streams cannot fit in a ${directory.length}-byte directory`, 0);
  const sizes: number[] = [];
  for (let i = 0; i < count; i++) sizes.push(r.u32());
  const entries: MsfStreamEntry[] = [];
  for (let i = 0; i < count; i++) {
    const raw = sizes[i]!;
    const nil = raw === NIL_STREAM_SIZE;
    const size = nil ? 0 : raw;
    const n = blockCount(size, sb.blockSize);
    if (n > r.remaining / 4) {
      r.fail(`stream ${i} of ${size} bytes needs ${n} blocks, the directory lists only ${Math.floor(r.remaining / 4)} more`, 4 + i * 4);
    }
    const blocks: number[] = [];
    for (let b = 0; b < n; b++) {
      const at = r.offset;
      const block = r.u32();
      checkBlock(r, block, sb, `stream ${i} block ${b}`, at);
      blocks.push(block);
    }
    entries.push({ size, nil, blocks });
  }
  return entries;
}
