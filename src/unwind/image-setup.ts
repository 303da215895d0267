/**
 * What the bridge calls once it has an image and its symbols: one
 * PeUnwindImage with everything the unwinder can know about the image, its
 * interrupt entry code included when the image has a vector table of stubs
 * (stub-uefi's `isr_stub_table`).
 */
import type { PeImage } from '../symbols/pe';
import type { FunctionBounds } from './code-lookup';
import { InterruptEntry, interruptEntriesFromStubs, vectorTableRvas } from './interrupt-entries';
import { PeUnwindImage } from './pe-unwind-image';

export interface UnwindImageSetup {
  name: string;
  /** Load base: the address of RVA 0 on the target. */
  base: bigint;
  /** The image, from its file or read from target memory (either layout). */
  image: PeImage;
  /** Procedures with exact bounds (the PDB's S_GPROC32/S_LPROC32), not publics with inferred sizes. */
  functions?: readonly FunctionBounds[];
  /**
   * A table of absolute addresses of per-vector interrupt stubs, when the image
   * has one. `bytes`: the table as read from target memory, when the image was
   * read without its writable sections (where such a table lives).
   */
  vectorTable?: { rva: number; count: number; bytes?: Uint8Array };
}

export interface UnwindImageResult {
  unwindImage: PeUnwindImage;
  /** Why the vector table gave no interrupt entries, when it was given and did not. */
  problem?: string;
}

export function createUnwindImage(setup: UnwindImageSetup): UnwindImageResult {
  let interruptEntries: InterruptEntry[] = [];
  let problem: string | undefined;
  if (setup.vectorTable) {
    try {
      const table = setup.vectorTable.bytes ?? setup.image.readRva(setup.vectorTable.rva, setup.vectorTable.count * 8);
      // In the file the table holds addresses at the preferred base; in memory, relocated to the load base.
      const addressBase = setup.image.layout === 'file' ? setup.image.imageBase : setup.base;
      const stubs = vectorTableRvas(table, addressBase, setup.image.sizeOfImage);
      interruptEntries = interruptEntriesFromStubs((rva, length) => {
        try {
          return setup.image.readRva(rva, length);
        } catch {
          return undefined;
        }
      }, stubs);
      if (interruptEntries.length === 0) problem = 'the vector table holds no interrupt stubs';
    } catch (err) {
      problem = err instanceof Error ? err.message : String(err);
    }
  }
  const unwindImage = new PeUnwindImage({
    name: setup.name,
    base: setup.base,
    image: setup.image,
    ...(setup.functions ? { functions: setup.functions } : {}),
    interruptEntries,
  });
  return problem === undefined ? { unwindImage } : { unwindImage, problem };
}
