/**
 * gdb started with no file against stub-uefi in QEMU: josgdb reads the image and
 * its PDB, synthesises an ELF with DWARF relocated to the base the kernel reports,
 * and gdb loads it over the connection (qXfer:exec-file + vFile). Names, source
 * lines, `break FUNCTION`, `break FILE:LINE`, `next`, `step`, `finish`, `until`,
 * `info line`, `info symbol` and `list` then work as on a native program. A PDB
 * that does not match the image gives a warning naming both GUIDs, and gdb still
 * works without symbols.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import pino from 'pino';
import { launchQemu, type QemuInstance } from '../src/demo/qemu';
import type { RunningBridge } from '../src/bridge/bridge';
import { bridgeTo } from './support/bridge-harness';
import { runGdb } from './support/gdb';
import { STUB_DIR, STUB_EFI, STUB_PDB } from './support/stub';
import { buildSymbolFixture } from './support/symbol-fixtures';
import { startBridge } from '../src/bridge/bridge';
import { LocalCode } from '../src/bridge/local-code';
import { parsePeImage } from '../src/symbols/pe';

const WORKLOAD = path.join(STUB_DIR, 'src', 'workload.c');

/** The line of workload.c that holds `text`. */
function lineOf(text: string): number {
  const index = readFileSync(WORKLOAD, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (index < 0) throw new Error(`workload.c has no line with ${text}`);
  return index + 1;
}

describe('gdb with no file gets names and lines from josgdb (stub-uefi in QEMU)', () => {
  let qemu: QemuInstance;
  let bridge: RunningBridge;

  beforeAll(async () => {
    expect(existsSync(STUB_EFI)).toBe(true);
    qemu = await launchQemu({ efi: STUB_EFI });
    bridge = await bridgeTo(qemu.targetSpec, { symbols: { image: STUB_EFI, pdb: STUB_PDB } });
    await bridge.session.waitForStop();
  });

  afterAll(async () => {
    await bridge?.close();
    await qemu?.stop();
  });

  it('loads the symbol file over the connection: names, lines, breakpoints by name and by line, stepping', async () => {
    expect(bridge.symbols?.modelSource).toBe('pdb');
    const counterLine = lineOf('g_counter++;');
    const callLine = lineOf('g_last_result = demo_a(g_counter)');
    const leafLine = lineOf('NOINLINE uint64_t demo_leaf');
    const leafHit = bridge.symbols!.index!.lookupName('demo_leaf')[0]!;
    const leafPlus4 = bridge.session.target.info.imageBase + BigInt(leafHit.rva) + 4n;
    const { output } = await runGdb(bridge.port, [
      'info symbol $pc',
      'break demo_leaf',
      'continue',
      'info symbol $pc',
      'info line *$pc',
      'bt',
      'delete',
      `break workload.c:${counterLine}`,
      'continue',
      'info line *$pc',
      'next',
      'info line *$pc',
      'step',
      'info symbol $pc',
      'finish',
      `until ${callLine + 1}`,
      'info line *$pc',
      `info line demo_factorial`,
      `list ${counterLine},${counterLine}`,
      `monitor sym 0x${leafPlus4.toString(16)}`,
      'monitor addr demo_leaf',
      'monitor disas demo_b 3',
      'detach',
    ]);
    const expectMatch = (re: RegExp) => expect(output).toMatch(re);
    expectMatch(/Reading symbols from target:\/josgdb\/BOOTX64\.EFI\.debug/);
    expectMatch(/^main in section \.text/m); // stopped at main on connect
    expectMatch(new RegExp(`Breakpoint 1, demo_leaf \\(.*\\) at .*workload\\.c:${leafLine}`));
    expectMatch(/demo_leaf in section \.text/);
    expectMatch(new RegExp(`Line ${leafLine} of ".*workload\\.c"`));
    expectMatch(new RegExp(`#0 +demo_leaf \\(.*\\) at .*workload\\.c:${leafLine}`));
    // the leaf's caller comes from the return address at [rsp]; deeper frames need
    // the CFI of the unwinding issue
    expectMatch(/#1 +0x[0-9a-f]+ in demo_c \(.*\) at .*workload\.c:\d+/);
    expectMatch(new RegExp(`Breakpoint 2, main \\(\\) at .*workload\\.c:${counterLine}`));
    expectMatch(new RegExp(`Line ${callLine} of ".*workload\\.c"`)); // after next
    expectMatch(/demo_a(\+\d+)? in section \.text|demo_a \+ \d+ in section \.text/); // after step
    expectMatch(new RegExp(`0x[0-9a-f]+ in main \\(\\) at .*workload\\.c:${callLine}`)); // finish
    expectMatch(/Line \d+ of ".*workload\.c" starts at address 0x[0-9a-f]+ <demo_factorial/);
    expect(output).toContain(`${counterLine}\t        g_counter++;`);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    // the monitor commands name things too
    expectMatch(/0x[0-9a-f]+ function +demo_leaf/);
    expectMatch(new RegExp(`demo_leaf\\+0x4 \\(.*workload\\.c:${leafLine}\\)`));
    expectMatch(/<demo_b>: +4883ec28 +sub \$0x28,%rsp/);
    expectMatch(/call 0x[0-9a-f]+ <demo_c>/);
  });

  it("serves code reads from the image file, relocated exactly as the firmware loaded it, and refuses a file the target does not run", async () => {
    const { session } = bridge;
    if (session.status === 'running') {
      await session.interrupt();
      await session.waitForStop();
    }
    const base = session.target.info.imageBase;
    const image = bridge.symbols!.image;
    expect(base).not.toBe(image.imageBase); // OVMF relocates the image: the DIR64 fixups matter
    const text = image.sections.find((s) => s.name === '.text')!;
    const start = base + BigInt(text.virtualAddress);
    const length = Math.min(text.virtualSize, text.sizeOfRawData);
    const linkBytesBefore = session.memory.stats.targetBytes;
    const local = await session.readMemory(start, length);
    const checkBytes = session.memory.stats.targetBytes - linkBytesBefore;
    expect(session.memory.stats.localBytes).toBeGreaterThanOrEqual(length);
    expect(checkBytes).toBeLessThan(200); // the COFF header and the entry sample, once
    const fromTarget: Buffer[] = [];
    for (let at = 0; at < length; at += 0x800) fromTarget.push(await session.target.readMemory(start + BigInt(at), Math.min(0x800, length - at)));
    expect(local.equals(Buffer.concat(fromTarget))).toBe(true);

    // the unwind build is another build of the same code: same entry code, other build identity
    const other = parsePeImage(readFileSync(path.join(STUB_DIR, 'build', 'unwind', 'BOOTX64.EFI')), { layout: 'file' });
    const refusals: string[] = [];
    const wrong = new LocalCode(other, base, (reason) => refusals.push(reason));
    const read = (a: bigint, n: number) => session.target.readMemory(a, n);
    expect(await wrong.read(start, 16, read)).toBeUndefined();
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(/(the COFF header|the build identity \(CodeView GUID and age\)) at 0x[0-9a-f]+ differs from the image file's/);
    await session.release({ resume: true });
  });

  it('serves no file but its own', async () => {
    // gdb's `remote get` reads through the same vFile packets
    const dir = mkdtempSync(path.join(tmpdir(), 'josgdb-vfile-'));
    try {
      const { output } = await runGdb(bridge.port, [
        'remote get /etc/passwd ' + path.join(dir, 'passwd'),
        `remote get /josgdb/BOOTX64.EFI.debug ${path.join(dir, 'kernel.debug')}`,
        'detach',
      ]);
      expect(output).toMatch(/Remote I\/O error: No such file or directory/);
      expect(existsSync(path.join(dir, 'passwd'))).toBe(false);
      expect(readFileSync(path.join(dir, 'kernel.debug')).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

});

describe('a PDB that does not match the image (stub-uefi in QEMU)', () => {
  it('warns naming both GUIDs, serves no PDB symbols, and gdb still works', async () => {
    const wrong = buildSymbolFixture();
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const qemu = await launchQemu({ efi: STUB_EFI });
    let bridge: RunningBridge | undefined;
    try {
      bridge = await startBridge({
        target: qemu.targetSpec,
        listenHost: '127.0.0.1',
        listenPort: 0,
        log,
        handshakeTimeoutMs: 90_000,
        symbols: { image: STUB_EFI, pdb: wrong.pdb, cacheDir: mkdtempSync(path.join(tmpdir(), 'josgdb-cache-')) },
      });
      await bridge.session.waitForStop();
      const warning = lines.find((l) => /GUID|guid/.test(l)) ?? '';
      const guids = new Set([...warning.matchAll(/[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}/gi)].map((g) => g[0].toUpperCase()));
      expect(guids.size).toBe(2);
      expect(bridge.symbols?.modelSource).toBe('image');
      const { output } = await runGdb(bridge.port, ['info registers rip', 'info symbol $pc', 'stepi', 'info registers rip', 'detach']);
      expect(output).toMatch(/rip +0x[0-9a-f]+/);
      expect(output).toMatch(/No symbol matches \$pc/);
      expect(output).toContain('[Inferior 1 (Remote target) detached]');
    } finally {
      await bridge?.close();
      await qemu.stop();
    }
  });
});

describe('no image file: josgdb reads the image from target memory (stub-uefi in QEMU)', () => {
  it('finds the PDB by the GUID in the loaded image and gdb gets names, lines and breakpoints by name', async () => {
    const qemu = await launchQemu({ efi: STUB_EFI });
    let bridge: RunningBridge | undefined;
    try {
      bridge = await bridgeTo(qemu.targetSpec, { symbols: { pdb: STUB_PDB } });
      await bridge.session.waitForStop();
      expect(bridge.symbols?.modelSource).toBe('pdb');
      expect(bridge.symbols?.warnings).toEqual([]);
      // the image was parsed in its loaded layout: its sections match the file's
      const fileSections = readPeSectionNames(STUB_EFI);
      expect(bridge.symbols!.image.sections.map((s) => s.name)).toEqual(fileSections);
      const leafLine = lineOf('NOINLINE uint64_t demo_leaf');
      const { output } = await runGdb(bridge.port, ['info symbol $pc', 'break demo_leaf', 'continue', 'bt 1', 'delete', 'detach']);
      // with no file, the image is named after the PDB
      expect(output).toMatch(/Reading symbols from target:\/josgdb\/BOOTX64\.efi\.debug/);
      expect(output).toMatch(/^main in section \.text/m);
      expect(output).toMatch(new RegExp(`Breakpoint 1, demo_leaf \\(.*\\) at .*workload\\.c:${leafLine}`));
      expect(output).toContain('[Inferior 1 (Remote target) detached]');
    } finally {
      await bridge?.close();
      await qemu.stop();
    }
  });
});

/** Section names of a PE file, read by llvm-readobj (the oracle, not our reader). */
function readPeSectionNames(file: string): string[] {
  const out = execFileSync('llvm-readobj', ['--sections', file], { encoding: 'utf8' });
  return [...out.matchAll(/^\s+Name: (\S+)/gm)].map((m) => m[1]!);
}
