/** Where stub-uefi's build puts its image and PDB, relative to the package root. */
import path from 'path';

export const STUB_DIR = path.resolve(__dirname, '..', '..', 'stub-uefi');
export const STUB_EFI = path.join(STUB_DIR, 'build', 'BOOTX64.EFI');
export const STUB_PDB = path.join(STUB_DIR, 'build', 'BOOTX64.pdb');
