/**
 * The bridge process killed with SIGKILL (no orderly close, no release) and
 * started again with `--attach`, as a user's crashed or killed `josgdb serve`
 * would be: the compiled CLI in its own process against the stub in QEMU. The
 * new bridge must pick the session up from its state file without a second
 * handshake (josx64 answers one per boot), hide and then remove the breakpoint
 * the killed bridge left armed, and a new gdb must step and detach with the
 * kernel's code bytes equal to the image file.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import { existsSync, mkdtempSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import { freePort, launchQemu, type QemuInstance } from '../../src/demo/qemu';
import { imageFileReader, stubPublicRvas } from '../../src/demo/stub-symbols';
import { GdbMi } from '../support/gdb-mi';
import { runGdb } from '../support/gdb';
import { STUB_EFI, STUB_PDB } from '../support/stub';

const CLI = path.resolve(__dirname, '..', '..', 'dist', 'cli', 'main.js');

interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  output(): string;
}

/** `josgdb serve` in its own process; resolves once it listens. JOSGDB_* variables are left out (yargs reads them as options). */
async function serve(args: string[]): Promise<ServeProcess> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JOSGDB_')));
  const child = spawn(process.execPath, [CLI, 'serve', '--log-level', 'info', ...args], { env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!/listening|waiting for gdb/i.test(output)) {
    if (child.exitCode !== null) throw new Error(`josgdb serve exited with ${child.exitCode}:\n${output}`);
    if (Date.now() > deadline) throw new Error(`josgdb serve did not start listening:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, output: () => output };
}

async function kill9(p: ServeProcess): Promise<void> {
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await exited;
}

describe('reliability: the bridge process killed with SIGKILL and restarted with --attach (stub-uefi in QEMU)', () => {
  let qemu: QemuInstance;
  let tmp: string;
  const processes: ServeProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build (make test does)`);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'josgdb-kill-'));
    qemu = await launchQemu({ efi: STUB_EFI });
  });

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await qemu?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('while stopped at a breakpoint, then while running', async () => {
    const stateFile = path.join(tmp, 'session.json');
    const port = await freePort();
    const common = ['--target', qemu.targetSpec, '--listen', `127.0.0.1:${port}`, '--state-file', stateFile, '--image', STUB_EFI, '--pdb', STUB_PDB];
    const rva = stubPublicRvas(STUB_EFI, STUB_PDB);
    const fileBytes = imageFileReader(STUB_EFI);

    // 1. a session stopped at a breakpoint the kernel holds armed
    const first = await serve(common);
    processes.push(first);
    const gdb = await GdbMi.connect(port);
    await gdb.run('-break-insert demo_b');
    await gdb.run('-exec-continue');
    const hit = await gdb.nextStop();
    expect(JSON.stringify(hit.results)).toContain('demo_b');
    await kill9(first);
    await gdb.close();

    // 2. a new bridge attaches: no handshake, the armed byte reads as the original, a step works
    const second = await serve([...common, '--attach']);
    processes.push(second);
    const originalByte = fileBytes(rva.get('demo_b')!, 1)[0]!.toString(16).padStart(2, '0');
    const { output } = await runGdb(port, ['info symbol $pc', 'x/1bx demo_b', 'stepi', 'break demo_leaf', 'continue', 'delete', 'detach']);
    expect(output).toMatch(/demo_b in section \.text/);
    expect(output).toMatch(new RegExp(`<demo_b>:\\s+0x${originalByte}\\b`));
    expect(output).toMatch(/Breakpoint \d+, demo_leaf/);
    expect(output).toContain('[Inferior 1 (Remote target) detached]');
    expect(second.output()).toContain('attached to a connected kernel: no handshake sent');

    // 3. killed again while the kernel runs (gdb detached: nothing armed), attached again: gdb breaks in
    await kill9(second);
    const third = await serve([...common, '--attach']);
    processes.push(third);
    const again = await runGdb(port, ['info registers rip', 'x/8bx demo_b', 'detach']);
    expect(third.output()).toContain('attached to a connected kernel: no handshake sent');
    expect(again.output).toMatch(/rip +0x[0-9a-f]+/);
    // no breakpoint byte left behind by either killed bridge
    const shown = /<demo_b>:((?:\s+0x[0-9a-f]{2}){8})/.exec(again.output)?.[1]?.trim().split(/\s+/).map((b) => Number(b));
    expect(shown).toEqual([...fileBytes(rva.get('demo_b')!, 8)]);
    await kill9(third);
  });
});
