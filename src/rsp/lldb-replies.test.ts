import { hexDecodeText } from './hex';
import { hostInfoReply, LLDB_TRIPLE, memoryRegionErrorReply, memoryRegionReply, processInfoReply, serverVersionReply } from './lldb-replies';
import { libraryListXml } from './library-list';

/** `k:v;k:v;` -> map, as lldb's StringExtractor reads it. */
function fields(reply: string): Map<string, string> {
  expect(reply.endsWith(';')).toBe(true);
  return new Map(reply.slice(0, -1).split(';').map((kv) => kv.split(':') as [string, string]));
}

describe('lldb query replies', () => {
  it('qHostInfo: a hex triple lldb maps to the PE/COFF world, 8-byte little-endian pointers, watchpoints reported after the access', () => {
    const f = fields(hostInfoReply());
    expect(hexDecodeText(f.get('triple')!)).toBe('x86_64-pc-windows-msvc');
    expect(f.get('ptrsize')).toBe('8');
    expect(f.get('endian')).toBe('little');
    expect(f.get('watchpoint_exceptions_received')).toBe('after');
    expect(fields(hostInfoReply({ hostname: 'box' })).get('hostname')).toBe('626f78');
  });

  it('qProcessInfo: pid in hex and the same triple as qHostInfo', () => {
    const f = fields(processInfoReply({ pid: 0x1a }));
    expect(f.get('pid')).toBe('1a');
    expect(hexDecodeText(f.get('triple')!)).toBe(LLDB_TRIPLE);
    expect(f.get('ostype')).toBe('windows');
  });

  it('qGDBServerVersion', () => {
    expect(serverVersionReply('josgdb')).toBe('name:josgdb;');
    expect(serverVersionReply('josgdb', '1.2')).toBe('name:josgdb;version:1.2;');
  });

  it('qMemoryRegionInfo: hex start and size, permissions only when mapped, name hex-encoded; errors as a key', () => {
    expect(memoryRegionReply({ start: 0x1de10000n, size: 0x6000n, permissions: 'rx', name: 'BOOTX64.EFI.text' })).toBe(
      'start:1de10000;size:6000;permissions:rx;name:424f4f545836342e4546492e74657874;',
    );
    expect(memoryRegionReply({ start: 0n, size: 0x1000n, permissions: '' })).toBe('start:0;size:1000;');
    expect(hexDecodeText(fields(memoryRegionErrorReply('not here')).get('error')!)).toBe('not here');
  });
});

describe('libraryListXml', () => {
  it('names each file with its base as <section address>, escaping the path', () => {
    expect(libraryListXml([{ path: '/a/"b"&<c>.efi', base: 0x1de0f000n }])).toBe(
      '<library-list><library name="/a/&quot;b&quot;&amp;&lt;c&gt;.efi"><section address="0x1de0f000"/></library></library-list>',
    );
    expect(libraryListXml([])).toBe('<library-list></library-list>');
  });
});
