/** The PDB search order and the symbol-store paths, as pure path arithmetic. */
import path from 'node:path';
import { defaultPdbCacheDir, isWindowsPath, pdbCandidates, portableBaseName, symbolStoreKey, symbolStorePath } from './pdb-search';

const codeView = { guid: 'E286D63A-A268-6FD3-4C4C-44205044422E', age: 0x1a, pdbPath: '/build/out/BOOTX64.pdb' };

describe('pdbCandidates', () => {
  it('an explicit PDB is the only candidate', () => {
    expect(pdbCandidates({ pdb: 'x.pdb', imagePath: '/img/BOOTX64.EFI', codeView, symbolPath: ['/s'], cacheDir: '/c' })).toEqual([
      { path: 'x.pdb', source: 'option' },
    ]);
  });

  it('RSDS path, next to the image, symbol path flat and store, then the cache', () => {
    const list = pdbCandidates({ imagePath: '/img/kernel.efi', codeView, symbolPath: ['/s1', '/s2'], cacheDir: '/c', platform: 'linux' });
    const key = 'E286D63AA2686FD34C4C44205044422E1A';
    expect(list).toEqual([
      { path: '/build/out/BOOTX64.pdb', source: 'rsds' },
      { path: '/img/BOOTX64.pdb', source: 'image-dir' },
      { path: '/img/kernel.pdb', source: 'image-dir' },
      { path: '/s1/BOOTX64.pdb', source: 'symbol-path' },
      { path: `/s1/BOOTX64.pdb/${key}/BOOTX64.pdb`, source: 'symbol-store' },
      { path: `/s1/bootx64.pdb/${key}/bootx64.pdb`, source: 'symbol-store' },
      { path: '/s2/BOOTX64.pdb', source: 'symbol-path' },
      { path: `/s2/BOOTX64.pdb/${key}/BOOTX64.pdb`, source: 'symbol-store' },
      { path: `/s2/bootx64.pdb/${key}/bootx64.pdb`, source: 'symbol-store' },
      { path: `/c/BOOTX64.pdb/${key}/BOOTX64.pdb`, source: 'cache' },
    ]);
  });

  it('a Windows RSDS path is not tried as is on POSIX, but its base name is used everywhere else', () => {
    const cv = { ...codeView, pdbPath: 'C:\\build\\x64\\Kernel.pdb' };
    const list = pdbCandidates({ imagePath: '/img/Kernel.efi', codeView: cv, symbolPath: ['/s'], platform: 'linux' });
    expect(list.map((c) => c.source)).not.toContain('rsds');
    expect(list[0]).toEqual({ path: '/img/Kernel.pdb', source: 'image-dir' });
    expect(list.map((c) => c.path)).toContain('/s/Kernel.pdb');
    expect(list.filter((c) => c.path.includes('C:'))).toEqual([]);
  });

  it('without an RSDS record: the image name with .pdb, no store or cache (no GUID to key on)', () => {
    expect(pdbCandidates({ imagePath: '/img/app.efi', symbolPath: ['/s'], cacheDir: '/c' })).toEqual([
      { path: '/img/app.pdb', source: 'image-dir' },
      { path: '/s/app.pdb', source: 'symbol-path' },
    ]);
  });

  it('an image read from memory has no directory: RSDS path, symbol path and cache only', () => {
    const list = pdbCandidates({ codeView, symbolPath: ['/s'], cacheDir: '/c', platform: 'linux' });
    expect(list.map((c) => c.source)).toEqual(['rsds', 'symbol-path', 'symbol-store', 'symbol-store', 'cache']);
  });

  it('drops duplicates (the RSDS path is next to the image)', () => {
    const list = pdbCandidates({ imagePath: '/build/out/BOOTX64.EFI', codeView, platform: 'linux' });
    expect(list).toEqual([{ path: '/build/out/BOOTX64.pdb', source: 'rsds' }]);
  });
});

describe('paths', () => {
  it('base names of POSIX and Windows paths', () => {
    expect(portableBaseName('C:\\build\\x.pdb')).toBe('x.pdb');
    expect(portableBaseName('/a/b/x.pdb')).toBe('x.pdb');
    expect(portableBaseName('x.pdb')).toBe('x.pdb');
    expect(isWindowsPath('C:\\x.pdb')).toBe(true);
    expect(isWindowsPath('c:/x.pdb')).toBe(true);
    expect(isWindowsPath('\\\\server\\share\\x.pdb')).toBe(true);
    expect(isWindowsPath('/x/y.pdb')).toBe(false);
  });

  it('symbol-store key: 32 hex digits without dashes, then the age in hex', () => {
    expect(symbolStoreKey('{e286d63a-a268-6fd3-4c4c-44205044422e}', 1)).toBe('E286D63AA2686FD34C4C44205044422E1');
    expect(symbolStoreKey(codeView.guid, 255)).toBe('E286D63AA2686FD34C4C44205044422EFF');
    expect(symbolStorePath('/root', 'k.pdb', codeView.guid, 2)).toBe(path.join('/root', 'k.pdb', 'E286D63AA2686FD34C4C44205044422E2', 'k.pdb'));
  });

  it('cache directory from XDG_CACHE_HOME, else ~/.cache', () => {
    expect(defaultPdbCacheDir({ XDG_CACHE_HOME: '/xdg' })).toBe(path.join('/xdg', 'josgdb', 'pdb'));
    expect(defaultPdbCacheDir({})).toMatch(/\.cache[\\/]josgdb[\\/]pdb$/);
    expect(defaultPdbCacheDir({ XDG_CACHE_HOME: 'relative' })).toMatch(/\.cache[\\/]josgdb[\\/]pdb$/);
  });
});
