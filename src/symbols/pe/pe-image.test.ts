/**
 * The PE reader against LLVM's own tools on real images: the clang-built symbol
 * fixture, stub-uefi's BOOTX64.EFI, a DLL with exports and an image with long
 * section names. Every value compared comes from llvm-readobj / llvm-objdump /
 * llvm-pdbutil output, parsed as text.
 */
import { readFileSync } from 'node:fs';
import { buildSymbolFixture } from '../../../test/support/symbol-fixtures';
import { SymbolFormatError } from '../format-error';
import {
  BaseRelocationType,
  DataDirectoryIndex,
  DebugType,
  PeImage,
  PeMachine,
  PeSubsystem,
  baseRelocationTypeName,
  isExecutable,
  isWritable,
  parsePeImage,
  readLoadedImage,
} from './index';
import {
  LlvmHeaders,
  LlvmSection,
  buildDwarfImage,
  buildExportDll,
  objdumpContents,
  objdumpExportTable,
  readobjBaseRelocs,
  readobjDebugDirectory,
  readobjExports,
  readobjHeaders,
  readobjRuntimeFunctions,
  readobjSections,
  removeBuilds,
  run,
  stubImage,
  synthesizeLoadedImage,
} from './testdata/llvm-oracle';

interface Subject {
  path: string;
  bytes: Uint8Array;
  image: PeImage;
  llvm: LlvmHeaders;
  sections: LlvmSection[];
}

function load(path: string): Subject {
  const bytes = new Uint8Array(readFileSync(path));
  const image = parsePeImage(bytes, { layout: 'file' });
  return { path, bytes, image, llvm: readobjHeaders(path), sections: readobjSections(path) };
}

/** The facts a consumer reads: everything but the layout and the methods. */
function facts(image: PeImage): unknown {
  return {
    headers: image.headers,
    machine: image.machine,
    imageBase: image.imageBase,
    entryPointRva: image.entryPointRva,
    sizeOfImage: image.sizeOfImage,
    sections: image.sections,
    debugDirectory: image.debugDirectory,
    codeView: image.codeView,
    exports: image.exports,
    runtimeFunctions: image.runtimeFunctions,
    baseRelocations: image.baseRelocations,
  };
}

afterAll(removeBuilds);

const fixture = buildSymbolFixture();
const subjects: [string, () => Subject][] = [
  ['symbol fixture', () => load(fixture.image)],
  ['stub-uefi BOOTX64.EFI', () => load(stubImage())],
];

describe.each(subjects)('%s against llvm-readobj', (_name, make) => {
  let s: Subject;
  beforeAll(() => {
    s = make();
  });

  test('file and optional headers', () => {
    const { image, llvm } = s;
    expect(image.machine).toBe(llvm.machine);
    expect(image.machine).toBe(PeMachine.AMD64);
    expect(image.imageBase).toBe(llvm.imageBase);
    expect(image.entryPointRva).toBe(llvm.entryPointRva);
    expect(image.sizeOfImage).toBe(llvm.sizeOfImage);
    const { file, optional, dos } = image.headers;
    expect(dos.peHeaderOffset).toBe(llvm.peHeaderOffset);
    expect(file.numberOfSections).toBe(llvm.numberOfSections);
    expect(file.timeDateStamp).toBe(llvm.timeDateStamp);
    expect(file.characteristics).toBe(llvm.characteristics);
    expect(optional.sizeOfHeaders).toBe(llvm.sizeOfHeaders);
    expect(optional.sectionAlignment).toBe(llvm.sectionAlignment);
    expect(optional.fileAlignment).toBe(llvm.fileAlignment);
    expect(optional.subsystem).toBe(llvm.subsystem);
    expect(optional.subsystem).toBe(PeSubsystem.EFI_APPLICATION);
    expect(optional.dllCharacteristics).toBe(llvm.dllCharacteristics);
    expect(llvm.dataDirectories).toHaveLength(16);
    expect(optional.dataDirectories).toEqual(llvm.dataDirectories);
  });

  test('every section', () => {
    expect(s.sections.length).toBeGreaterThan(2);
    expect(
      s.image.sections.map((x) => ({
        number: x.number,
        name: x.name,
        virtualSize: x.virtualSize,
        virtualAddress: x.virtualAddress,
        sizeOfRawData: x.sizeOfRawData,
        pointerToRawData: x.pointerToRawData,
        characteristics: x.characteristics,
      })),
    ).toEqual(s.sections);
    const byName = new Map(s.image.sections.map((x) => [x.name, x]));
    expect(isExecutable(byName.get('.text')!)).toBe(true);
    expect(isWritable(byName.get('.text')!)).toBe(false);
    expect(isWritable(byName.get('.data')!)).toBe(true);
    expect(isExecutable(byName.get('.rdata')!)).toBe(false);
  });

  test('debug directory and CodeView record', () => {
    const llvm = readobjDebugDirectory(s.path);
    expect(llvm.length).toBeGreaterThan(0);
    expect(
      s.image.debugDirectory.map((e) => ({
        type: e.type,
        characteristics: e.characteristics,
        timeDateStamp: e.timeDateStamp,
        sizeOfData: e.sizeOfData,
        addressOfRawData: e.addressOfRawData,
        pointerToRawData: e.pointerToRawData,
        ...(e.codeView ? { pdb: { guid: e.codeView.guid, age: e.codeView.age, path: e.codeView.pdbPath } } : {}),
      })),
    ).toEqual(llvm);
    const cv = llvm.find((e) => e.type === DebugType.CODEVIEW)!.pdb!;
    expect(s.image.codeView).toEqual({ guid: cv.guid, age: cv.age, pdbPath: cv.path });
  });

  test('base relocations, entry by entry', () => {
    const llvm = readobjBaseRelocs(s.path);
    expect(llvm.length).toBeGreaterThan(0);
    const ours = s.image.baseRelocations.flatMap((b) =>
      b.entries.map((e) => ({ type: baseRelocationTypeName(e.type), rva: e.rva })),
    );
    expect(ours).toEqual(llvm);
    for (const block of s.image.baseRelocations) {
      expect(block.pageRva % 0x1000).toBe(0);
      for (const e of block.entries) expect(e.rva).toBe(block.pageRva + e.offset);
    }
    expect(ours.some((e) => e.type === 'DIR64')).toBe(true);
  });

  test('RUNTIME_FUNCTION entries', () => {
    const llvm = readobjRuntimeFunctions(s.path, s.llvm.imageBase);
    expect(llvm.length).toBeGreaterThan(1);
    expect(s.image.runtimeFunctions).toHaveLength(llvm.length);
    expect(s.image.runtimeFunctions[0]).toEqual(llvm[0]);
    expect(s.image.runtimeFunctions[llvm.length - 1]).toEqual(llvm[llvm.length - 1]);
    expect(s.image.runtimeFunctions).toEqual(llvm);
  });

  test('findRuntimeFunction and sectionForRva agree with the tables', () => {
    for (const f of s.image.runtimeFunctions) {
      expect(s.image.findRuntimeFunction(f.beginRva)).toBe(f);
      expect(s.image.findRuntimeFunction(f.endRva - 1)).toBe(f);
      expect(s.image.sectionForRva(f.beginRva)?.name).toBe('.text');
    }
    expect(s.image.findRuntimeFunction(0)).toBeUndefined();
    expect(s.image.sectionForRva(0)).toBeUndefined();
    expect(s.image.sectionForRva(s.image.sizeOfImage)).toBeUndefined();
  });

  test('readRva returns the section bytes llvm-objdump dumps', () => {
    const contents = objdumpContents(s.path);
    expect(contents.size).toBe(s.sections.length);
    for (const sec of s.image.sections) {
      const dumped = contents.get(sec.name)!;
      expect(dumped.address).toBe(s.llvm.imageBase + BigInt(sec.virtualAddress));
      expect(dumped.bytes.length).toBeGreaterThan(0);
      expect(Buffer.from(s.image.readRva(sec.virtualAddress, dumped.bytes.length)).equals(Buffer.from(dumped.bytes))).toBe(true);
    }
    // UNWIND_INFO starts with version 1 in the low 3 bits: readRva finds .xdata.
    for (const f of s.image.runtimeFunctions) expect(s.image.readRva(f.unwindInfoRva, 4)[0]! & 7).toBe(1);
    // A copy: changing it does not change the image.
    const f = s.image.runtimeFunctions[0]!;
    const head = s.image.readRva(f.unwindInfoRva, 1);
    head[0] = 0xff;
    expect(s.image.readRva(f.unwindInfoRva, 1)[0]).toBe(1);
  });

  test('readRva errors name the RVA read', () => {
    const last = s.image.sections[s.image.sections.length - 1]!;
    expect(() => s.image.readRva(s.image.sizeOfImage + 0x1000, 4)).toThrow(SymbolFormatError);
    expect(() => s.image.readRva(last.virtualAddress + last.virtualSize - 2, 4)).toThrow(/RVA read/);
    expect(() => s.image.readRva(-1, 4)).toThrow(/BAD_ARGUMENT|must be integers/);
  });

  test('the loaded layout gives the same facts', () => {
    const loaded = synthesizeLoadedImage(s.bytes, s.llvm, s.sections);
    const image = parsePeImage(loaded, { layout: 'loaded' });
    expect(image.layout).toBe('loaded');
    expect(facts(image)).toEqual(facts(s.image));
    for (const f of s.image.runtimeFunctions) {
      expect(image.readRva(f.unwindInfoRva, 4)).toEqual(s.image.readRva(f.unwindInfoRva, 4));
    }
    // Sections' zero-filled tails read the same in both layouts.
    for (const sec of s.image.sections) {
      const [a, b] = [image, s.image].map((i) => Buffer.from(i.readRva(sec.virtualAddress, sec.virtualSize)));
      expect(a!.equals(b!)).toBe(true);
    }
  });

  test('readLoadedImage reads the headers first, then only the read-only sections\' initialised bytes', async () => {
    const loaded = synthesizeLoadedImage(s.bytes, s.llvm, s.sections);
    const reads: [number, number][] = [];
    const image = await readLoadedImage(async (rva, length) => {
      reads.push([rva, length]);
      if (rva + length > loaded.length) throw new Error(`read past the image: ${rva}+${length}`);
      return loaded.slice(rva, rva + length);
    });
    expect(facts(image)).toEqual(facts(s.image));
    // The first reads stay within the headers; nothing reads past SizeOfImage.
    expect(reads.slice(0, 3).every(([rva, len]) => rva === 0 && len <= s.llvm.sizeOfHeaders)).toBe(true);
    const sectionReads = reads.filter(([rva]) => rva !== 0);
    // flags straight from llvm-readobj: MEM_EXECUTE 0x20000000, MEM_WRITE 0x80000000
    const readOnlyOrCode = s.sections.filter((x) => (x.characteristics & 0x80000000) === 0 || (x.characteristics & 0x20000000) !== 0);
    expect(readOnlyOrCode.length).toBeLessThan(s.sections.length); // the fixture has a .data to skip
    expect(sectionReads).toEqual(readOnlyOrCode.map((x) => [x.virtualAddress, Math.min(x.virtualSize, x.sizeOfRawData)]));
  });
});

describe('readLoadedImage limits', () => {
  const s = load(fixture.image);
  const loaded = synthesizeLoadedImage(s.bytes, s.llvm, s.sections);
  const sizeOfImageAt = s.llvm.peHeaderOffset + 4 + 20 + 56;

  test('refuses a SizeOfImage past the cap without reading it', async () => {
    const patched = loaded.slice(0, 0x1000);
    new DataView(patched.buffer).setUint32(sizeOfImageAt, 300 * 1024 * 1024, true);
    let largest = 0;
    const read = async (rva: number, length: number): Promise<Uint8Array> => {
      largest = Math.max(largest, length);
      return patched.slice(rva, rva + length);
    };
    await expect(readLoadedImage(read)).rejects.toThrow(/SizeOfImage 0x12c00000 exceeds the 0x10000000-byte limit/);
    await expect(readLoadedImage(read)).rejects.toBeInstanceOf(SymbolFormatError);
    expect(largest).toBeLessThan(0x1000);
    const whole = async (rva: number, length: number): Promise<Uint8Array> => loaded.slice(rva, rva + length);
    await expect(readLoadedImage(whole, { maxImageSize: 0x1000 })).rejects.toThrow(/exceeds the 0x1000-byte limit/);
  });

  test('a short read is a format error; a reader error passes through', async () => {
    await expect(readLoadedImage(async (rva, length) => loaded.slice(rva, rva + length - 1))).rejects.toThrow(
      /memory reader returned/,
    );
    const boom = new Error('unmapped');
    await expect(
      readLoadedImage(async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
  });

  test('a wrong base (no MZ) says so', async () => {
    await expect(readLoadedImage(async (_rva, length) => new Uint8Array(length))).rejects.toThrow(/MZ.*image base/);
  });

  test('a loaded buffer shorter than SizeOfImage is rejected', () => {
    expect(() => parsePeImage(loaded.subarray(0, loaded.length - 1), { layout: 'loaded' })).toThrow(/SizeOfImage/);
  });
});

describe('PDB identity', () => {
  test('the CodeView GUID and age match the PDB llvm-pdbutil reads', () => {
    const image = parsePeImage(new Uint8Array(readFileSync(fixture.image)), { layout: 'file' });
    const summary = run('llvm-pdbutil', ['dump', '--summary', fixture.pdb]);
    expect(image.codeView?.guid).toBe(/GUID: \{([0-9A-F-]+)\}/.exec(summary)![1]);
    expect(image.codeView?.age).toBe(Number(/Age: (\d+)/.exec(summary)![1]));
    expect(image.codeView?.pdbPath).toMatch(/fixture\.pdb$/);
  });
});

describe('exports of a DLL against llvm-readobj and llvm-objdump', () => {
  const dll = buildExportDll();
  const image = parsePeImage(new Uint8Array(readFileSync(dll)), { layout: 'file' });

  test('directory facts', () => {
    const table = objdumpExportTable(dll);
    expect(image.exports).toBeDefined();
    expect(image.exports!.dllName).toBe(table.dllName);
    expect(image.exports!.ordinalBase).toBe(table.ordinalBase);
    const dir = image.headers.optional.dataDirectories[DataDirectoryIndex.Export]!;
    expect(dir).toEqual(readobjHeaders(dll).dataDirectories[DataDirectoryIndex.Export]);
  });

  test('every export: ordinal, name, RVA, forwarder', () => {
    // llvm-readobj lists empty slots too (RVA 0); they are gaps, not exports.
    const llvm = readobjExports(dll).filter((e) => e.rva !== 0);
    const forwarders = objdumpExportTable(dll).forwarders;
    expect(forwarders.size).toBe(1);
    expect(image.exports!.exports.map((e) => ({ ordinal: e.ordinal, name: e.names[0] ?? '', rva: e.rva }))).toEqual(llvm);
    for (const e of image.exports!.exports) expect(e.forwarder).toBe(forwarders.get(e.ordinal));
    // The shapes the DLL was built to have, so the comparison above covers them.
    const byName = new Map(image.exports!.exports.flatMap((e) => e.names.map((n) => [n, e] as const)));
    expect(byName.get('beta')!.ordinal).toBe(7);
    expect(byName.get('forwarded')!.forwarder).toBe('kernel32.Sleep');
    expect(byName.get('alias_of_alpha')!.rva).toBe(byName.get('alpha')!.rva);
    expect(image.exports!.exports.find((e) => e.ordinal === 9)!.names).toEqual([]);
  });
});

describe('long section names', () => {
  test("'/N' names resolve through the COFF string table as llvm-readobj shows them", () => {
    const path = buildDwarfImage();
    const bytes = new Uint8Array(readFileSync(path));
    const image = parsePeImage(bytes, { layout: 'file' });
    const llvm = readobjSections(path);
    expect(image.sections.map((s) => s.name)).toEqual(llvm.map((s) => s.name));
    expect(image.sections.map((s) => s.name)).toContain('.debug_info');
    // The string table is not part of a loaded image, so there the raw '/N' stays.
    const loaded = parsePeImage(synthesizeLoadedImage(bytes, readobjHeaders(path), llvm), { layout: 'loaded' });
    const debugInfo = image.sections.find((x) => x.name === '.debug_info')!;
    expect(loaded.sections[debugInfo.number - 1]!.name).toMatch(/^\/\d+$/);
  });
});

test('relocation type names', () => {
  expect(baseRelocationTypeName(BaseRelocationType.DIR64)).toBe('DIR64');
  expect(baseRelocationTypeName(7)).toBe('UNKNOWN (7)');
});
