export { STUB_DIR, STUB_EFI, STUB_PDB } from '../../src/demo/stub-paths';
