/**
 * One stub-uefi VM per test file, with the bridge in front of it and a packet
 * log, plus the small readers the gdb end-to-end tests share: symbol addresses
 * at the load base, the image file's bytes, gdb runs, and the packet log.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import os from 'os';
import path from 'path';
import type { RunningBridge } from '../../src/bridge/bridge';
import { launchQemu, type QemuInstance } from '../../src/demo/qemu';
import { imageFileReader, stubPublicRvas } from '../../src/demo/stub-symbols';
import { bridgeTo } from './bridge-harness';
import { runGdb } from './gdb';
import { STUB_EFI, STUB_PDB } from './stub';

export const hex = (v: bigint) => '0x' + v.toString(16);
/** gdb pads addresses in some messages ("0x0000000006b3e0a0"): match either form. */
export const padded = (v: bigint) => '0x0*' + v.toString(16);
/** A stop the test expects soon: a missing one fails here, not at the jest timeout. */
export const stopWithin = <T>(p: Promise<T>, ms = 20_000): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`no stop within ${ms} ms`)), ms).unref())]);

/** The bridge's reply to the first packet from gdb in `log` that starts with `prefix`. */
export function replyTo(log: string, prefix: string): string | undefined {
  const lines = log.split('\n');
  const i = lines.findIndex((l) => / gdb +-> /.test(l) && l.split(/ gdb +-> /)[1]!.startsWith(prefix));
  const reply = lines.slice(i + 1).find((l) => / gdb +<- /.test(l));
  return i < 0 || reply === undefined ? undefined : reply.split(/ gdb +<- ?/)[1];
}

/** gdb's `x/1dw` or `x/1dg` line for an address: the printed decimal value. */
export function examined(output: string, address: bigint): bigint {
  const line = output.split('\n').find((l) => l.startsWith(hex(address) + ':'));
  if (!line) throw new Error(`gdb printed no x line for ${hex(address)}:\n${output}`);
  return BigInt(line.split(/\s+/)[1]!);
}

export interface StubVm {
  readonly qemu: QemuInstance;
  readonly bridge: RunningBridge;
  /** A scratch directory removed with the VM. */
  readonly tmp: string;
  /** Public symbol RVAs from the stub's PDB. */
  readonly rva: Map<string, bigint>;
  base(): bigint;
  /** A public symbol's address at the load base. */
  at(name: string): bigint;
  /** The image file's bytes at a loaded address. */
  original(address: bigint, length: number): Buffer;
  gdb(commands: string[]): Promise<string>;
  /** The packet log so far (it is written asynchronously: give it a moment). */
  packets(): Promise<string>;
}

/**
 * Boots the stub (in josx64 compatibility mode when `compat`) before the file's tests and stops it after.
 * With `symbols`, the bridge loads the stub's image and PDB (`serve --image --pdb`).
 */
export function useStubVm(options: { compat: boolean; symbols?: boolean }): StubVm {
  let qemu: QemuInstance | undefined;
  let bridge: RunningBridge | undefined;
  let tmp = '';
  let rva = new Map<string, bigint>();
  let fileBytes: (rva: bigint, length: number) => Buffer = () => Buffer.alloc(0);
  const started = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`the stub VM has no ${what} yet (used outside a test?)`);
    return v;
  };
  const vm: StubVm = {
    get qemu() {
      return started(qemu, 'QEMU');
    },
    get bridge() {
      return started(bridge, 'bridge');
    },
    get tmp() {
      return tmp;
    },
    get rva() {
      return rva;
    },
    base: () => vm.bridge.session.target.info.imageBase,
    at(name) {
      const r = rva.get(name);
      if (r === undefined) throw new Error(`no symbol ${name} in the stub's PDB`);
      return vm.base() + r;
    },
    original: (address, length) => fileBytes(address - vm.base(), length),
    gdb: async (commands) => (await runGdb(vm.bridge.port, commands)).output,
    async packets() {
      await new Promise((r) => setTimeout(r, 200));
      return readFileSync(path.join(tmp, 'packets.log'), 'utf8');
    },
  };

  beforeAll(async () => {
    expect(existsSync(STUB_EFI)).toBe(true);
    rva = stubPublicRvas(STUB_EFI, STUB_PDB);
    fileBytes = imageFileReader(STUB_EFI);
    tmp = mkdtempSync(path.join(os.tmpdir(), options.compat ? 'josgdb-compat-' : 'josgdb-ext-'));
    qemu = await launchQemu({ efi: STUB_EFI, compat: options.compat });
    bridge = await bridgeTo(qemu.targetSpec, {
      packetLogPath: path.join(tmp, 'packets.log'),
      ...(options.symbols ? { symbols: { image: STUB_EFI, pdb: STUB_PDB } } : {}),
    });
    await bridge.session.waitForStop();
  });

  afterAll(async () => {
    await bridge?.close();
    await qemu?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  return vm;
}
