/**
 * Does this PDB belong to this image? The image's CodeView debug directory
 * entry (RSDS) records the PDB's GUID and age; a PDB from another build would
 * give confidently wrong answers, so a mismatch means using none of it.
 */
import { JosgdbError } from '../../common/errors';

export interface DebugIdentity {
  /** Any common spelling: with or without braces, any case. */
  guid: string;
  age: number;
}

export interface PdbIdentity extends DebugIdentity {
  /**
   * The DBI stream's age. Tools that rewrite a PDB bump the info stream's age
   * but not this one, which keeps the value the image was linked with.
   */
  dbiAge?: number;
}

export type PdbMatch =
  | { matches: true }
  | {
      matches: false;
      reason: 'guid' | 'age';
      imageGuid: string;
      pdbGuid: string;
      imageAge: number;
      pdbAge: number;
      message: string;
    };

export function normalizeGuid(guid: string): string {
  return guid.replace(/[{}]/g, '').trim().toUpperCase();
}

export function checkPdbMatchesImage(image: DebugIdentity, pdb: PdbIdentity): PdbMatch {
  const imageGuid = normalizeGuid(image.guid);
  const pdbGuid = normalizeGuid(pdb.guid);
  const describe = `image expects PDB {${imageGuid}} age ${image.age}, the PDB is {${pdbGuid}} age ${pdb.age}`;
  if (imageGuid !== pdbGuid) {
    return {
      matches: false,
      reason: 'guid',
      imageGuid,
      pdbGuid,
      imageAge: image.age,
      pdbAge: pdb.age,
      message: `PDB does not match the image (different GUID): ${describe}; it belongs to another build`,
    };
  }
  if (image.age !== pdb.age && image.age !== pdb.dbiAge) {
    return {
      matches: false,
      reason: 'age',
      imageGuid,
      pdbGuid,
      imageAge: image.age,
      pdbAge: pdb.age,
      message: `PDB does not match the image (different age): ${describe}; the PDB was rewritten after this image was linked`,
    };
  }
  return { matches: true };
}

/** Thrown where a mismatch must stop symbol loading; carries the check's result. */
export class PdbMismatchError extends JosgdbError {
  constructor(readonly match: Extract<PdbMatch, { matches: false }>) {
    super('SYMBOL_MISMATCH', match.message);
    this.name = 'PdbMismatchError';
  }
}
