/**
 * The MSF superblock: the fixed header at offset 0 of a PDB ("BigMsf", MSF 7.00).
 * Everything else in the file is found through it, so it is validated strictly:
 * a bad block size or an out-of-range block-map address would make every later
 * read meaningless.
 */
import { CvReader } from '../codeview/cv-reader';

export const MSF_MAGIC = new Uint8Array(Buffer.from('Microsoft C/C++ MSF 7.00\r\n\x1aDS\0\0\0', 'latin1'));

/** Block sizes LLVM and the Microsoft tools accept. */
export const MSF_BLOCK_SIZES: readonly number[] = [512, 1024, 2048, 4096, 8192, 16384, 32768];

export const SUPERBLOCK_SIZE = MSF_MAGIC.length + 6 * 4;

export interface MsfSuperBlock {
  blockSize: number;
  /** Block of the active free-block map (1 or 2). */
  freeBlockMapBlock: number;
  numBlocks: number;
  numDirectoryBytes: number;
  /** Block that lists the blocks holding the stream directory. */
  blockMapAddr: number;
}

export function readSuperBlock(file: Uint8Array): MsfSuperBlock {
  const r = new CvReader(file, 'MSF', 'superblock');
  if (file.length < SUPERBLOCK_SIZE) r.fail(`file is ${file.length} bytes, too short for an MSF superblock`, 0);
  const magic = r.bytes(MSF_MAGIC.length);
  if (!magic.every((b, i) => b === MSF_MAGIC[i])) r.fail('not an MSF 7.00 file (bad magic)', 0);
  const blockSize = r.u32();
  const freeBlockMapBlock = r.u32();
  const numBlocks = r.u32();
  const numDirectoryBytes = r.u32();
  r.u32(); // unknown/reserved
  const blockMapAddr = r.u32();
  if (!MSF_BLOCK_SIZES.includes(blockSize)) r.fail(`unsupported block size ${blockSize}`, 32);
  if (freeBlockMapBlock !== 1 && freeBlockMapBlock !== 2) {
    r.fail(`free block map block is ${freeBlockMapBlock}, expected 1 or 2`, 36);
  }
  // Every block the superblock counts must exist: a shorter file was cut off
  // (an interrupted copy or download), and saying so is clearer than failing
  // later on whichever stream happens to live in the missing tail.
  if (numBlocks * blockSize > file.length) {
    r.fail(`file is truncated: ${numBlocks} blocks of ${blockSize} bytes need ${numBlocks * blockSize}, file has ${file.length}`, 40);
  }
  if (blockMapAddr === 0 || blockMapAddr >= numBlocks) {
    r.fail(`block map address ${blockMapAddr} outside 1..${numBlocks - 1}`, 52);
  }
  if (numDirectoryBytes < 4) r.fail(`stream directory of ${numDirectoryBytes} bytes cannot hold a stream count`, 44);
  // The block map is a single block of u32 block numbers, which caps the
  // directory; anything larger is corrupt, and the cap bounds our allocation.
  const maxDirectoryBytes = (blockSize / 4) * blockSize;
  if (numDirectoryBytes > maxDirectoryBytes) {
    r.fail(`stream directory of ${numDirectoryBytes} bytes exceeds the ${maxDirectoryBytes} one block map can address`, 44);
  }
  return { blockSize, freeBlockMapBlock, numBlocks, numDirectoryBytes, blockMapAddr };
}
