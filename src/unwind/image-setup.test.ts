import { BaseRelocationType, parsePeImage } from '../symbols/pe';
import { createUnwindImage } from './image-setup';
import { procedureBounds, rvaOf, stubImage } from './testing/fixture-image';

describe('setting up an image for unwinding', () => {
  const stub = stubImage('nounwind');
  const table = { rva: rvaOf(stub, 'isr_stub_table'), count: 256 };
  const common = (entries: readonly { name: string; startRva: number }[]): number | undefined => entries.find((e) => e.name === 'interrupt entry')?.startRva;

  it('from the file: procedures and the interrupt entry code found through the vector table', () => {
    const { unwindImage, problem } = createUnwindImage({ name: 'BOOTX64.EFI', base: 0x6000000n, image: stub.image, functions: procedureBounds(stub), vectorTable: table });
    expect(problem).toBeUndefined();
    expect(unwindImage.interruptEntries).toHaveLength(257);
    const entry = common(unwindImage.interruptEntries)!;
    const lookup = unwindImage.ruleAt(entry + 1, { returnAddress: false });
    expect(lookup.found && [lookup.method, lookup.rule.kind]).toEqual(['machine-frame', 'interrupt']);
  });

  it('from target memory: the image as the loader relocated it to its load base', () => {
    const base = 0x7e000000n;
    const loaded = new Uint8Array(stub.image.sizeOfImage);
    loaded.set(stub.image.readRva(0, stub.image.headers.optional.sizeOfHeaders));
    for (const s of stub.image.sections) loaded.set(stub.image.readRva(s.virtualAddress, Math.min(s.virtualSize, stub.image.sizeOfImage - s.virtualAddress)), s.virtualAddress);
    const view = Buffer.from(loaded.buffer);
    const delta = base - stub.image.imageBase;
    for (const block of stub.image.baseRelocations) {
      for (const r of block.entries) if (r.type === BaseRelocationType.DIR64) view.writeBigUInt64LE((view.readBigUInt64LE(r.rva) + delta) & ((1n << 64n) - 1n), r.rva);
    }
    const image = parsePeImage(loaded, { layout: 'loaded' });
    const fromMemory = createUnwindImage({ name: 'BOOTX64.EFI', base, image, functions: procedureBounds(stub), vectorTable: table });
    const fromFile = createUnwindImage({ name: 'BOOTX64.EFI', base, image: stub.image, functions: procedureBounds(stub), vectorTable: table });
    expect(fromMemory.problem).toBeUndefined();
    expect(fromMemory.unwindImage.interruptEntries).toEqual(fromFile.unwindImage.interruptEntries);
  });

  it('says why a vector table gave nothing, and still unwinds the rest', () => {
    const bad = createUnwindImage({ name: 'BOOTX64.EFI', base: 0x6000000n, image: stub.image, functions: procedureBounds(stub), vectorTable: { rva: rvaOf(stub, 'main'), count: 4 } });
    expect(bad.problem).toMatch(/outside the image/);
    expect(bad.unwindImage.interruptEntries).toEqual([]);
    const main = rvaOf(stub, 'main');
    expect(bad.unwindImage.ruleAt(main, { returnAddress: false }).found).toBe(true);
  });
});
