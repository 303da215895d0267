/** stub-uefi's build outputs, as the tests and the demo find them. */
import path from 'path';

export const STUB_DIR = path.resolve(__dirname, '..', '..', 'stub-uefi');
export const STUB_EFI = path.join(STUB_DIR, 'build', 'BOOTX64.EFI');
export const STUB_PDB = path.join(STUB_DIR, 'build', 'BOOTX64.pdb');
