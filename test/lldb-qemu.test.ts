/**
 * lldb as a first-class client of josgdb, against stub-uefi in QEMU: `lldb -o
 * "gdb-remote HOST:PORT"` with no other setup loads the PE image from the path
 * josgdb names and its PDB with lldb's own reader, at the base the kernel
 * reports, and then registers, stepping, breakpoints, memory, watchpoints,
 * interrupt, detach and kill all work. Each session that ends attached ends
 * with `process detach`, and the addresses it used then hold the image's bytes.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import path from 'path';
import type { RunningBridge } from '../src/bridge/bridge';
import { launchQemu, type QemuInstance } from '../src/demo/qemu';
import { stubPublicRvas } from '../src/demo/stub-symbols';
import { packetName } from '../src/rsp';
import { bridgeTo } from './support/bridge-harness';
import { runLldb } from './support/lldb';
import { STUB_DIR, STUB_EFI, STUB_PDB } from './support/stub';
import { hex, replyTo, stopWithin, useStubVm } from './support/stub-vm';

const WORKLOAD = path.join(STUB_DIR, 'src', 'workload.c');

/** The line of workload.c that holds `text`. */
function lineOf(text: string): number {
  const index = readFileSync(WORKLOAD, 'utf8').split('\n').findIndex((l) => l.includes(text));
  if (index < 0) throw new Error(`workload.c has no line with ${text}`);
  return index + 1;
}

/**
 * What lldb 14 asks that josgdb answers with the empty reply ("not supported"),
 * each for a reason; any other packet lldb sends must get a real answer.
 */
const UNSUPPORTED_ON_PURPOSE = new Map([
  ['qVAttachOrWaitSupported', 'attaching by process name: there is one kernel'],
  ['qStructuredDataPlugins', 'no structured-data plugins'],
  ['qShlibInfoAddr', "no dyld info: lldb's Windows loader asks qFileLoadAddress instead"],
  ['jThreadsInfo', 'one thread: the stop reply already carries its registers and reason'],
  ['jThreadExtendedInfo', 'no per-thread extras'],
  ['_M', 'no memory allocation in a stopped kernel; lldb evaluates expressions without it'],
]);

/** Names of the packets the bridge answered with the empty reply, from a packet log. */
function emptyReplies(log: string): Set<string> {
  const names = new Set<string>();
  let last: string | undefined;
  for (const line of log.split('\n')) {
    const m = / gdb +(->|<-) ?(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '->' && m[2] !== '+' && m[2] !== '^C') last = m[2];
    else if (m[1] === '<-' && m[2] === '' && last !== undefined) {
      const name = packetName(Buffer.from(last, 'latin1'));
      names.add(/^_M[0-9a-f]/.test(name) ? '_M' : name); // `_Msize,perms`: the size is glued to the name
    }
  }
  return names;
}

describe('lldb through josgdb (stub-uefi in QEMU)', () => {
  const vm = useStubVm({ compat: false, symbols: true });

  /** Every packet lldb sent since `from` (an offset into the packet log) got a real answer, or is one we decline on purpose. */
  async function expectAnswered(from: number): Promise<void> {
    const unanswered = [...emptyReplies((await vm.packets()).slice(from))].filter((n) => !UNSUPPORTED_ON_PURPOSE.has(n));
    expect(unanswered).toEqual([]);
  }

  /** With no debugger attached: stop the target and check the addresses hold the image's bytes (no 0xCC left). */
  async function expectImageBytes(addresses: bigint[], length = 8): Promise<void> {
    expect(await vm.bridge.session.interrupt()).toBe(true);
    await stopWithin(vm.bridge.session.waitForStop());
    for (const a of addresses) expect((await vm.bridge.session.readMemory(a, length)).toString('hex')).toBe(vm.original(a, length).toString('hex'));
  }

  it('needs no setup: the image and its PDB load at the base the kernel reports; names, lines and the whole call chain at demo_leaf', async () => {
    const base = vm.base();
    const leaf = vm.at('demo_leaf');
    const { output } = await runLldb(vm.bridge.port, ['image list -h', 'breakpoint set -n demo_leaf', 'continue', 'thread backtrace', 'breakpoint delete', 'process detach']);
    // the image lldb loaded is the file josgdb knows, its header at the load base
    expect(output).toMatch(new RegExp(`\\[ *0\\] 0x0*${base.toString(16)} *\\n`));
    expect(output).toMatch(new RegExp(`Breakpoint 1: where = BOOTX64\\.EFI\`demo_leaf at workload\\.c:${lineOf('NOINLINE uint64_t demo_leaf')}, address = 0x0*${leaf.toString(16)}`));
    expect(output).toMatch(/stop reason = breakpoint 1\.1/);
    // lldb unwinds with the image's .pdata: every caller up to main, with its line
    const backtrace = output.slice(output.indexOf('(lldb) thread backtrace'));
    const frames = [...backtrace.matchAll(/frame #(\d+): 0x[0-9a-f]+ BOOTX64\.EFI`(\w+) at workload\.c:(\d+)/g)].map((m) => `${m[2]}:${m[3]}`);
    expect(frames.slice(0, 5)).toEqual([
      `demo_leaf:${lineOf('NOINLINE uint64_t demo_leaf')}`,
      `demo_c:${lineOf('NOINLINE uint64_t demo_c')}`,
      `demo_b:${lineOf('NOINLINE uint64_t demo_b')}`,
      `demo_a:${lineOf('NOINLINE uint64_t demo_a')}`,
      `main:${lineOf('g_last_result = demo_a(g_counter)')}`,
    ]);
    expect(output).toContain('Process 1 detached');

    const log = await vm.packets();
    // told, not guessed: the triple, the library list naming the image file, its load address
    expect(log).toMatch(/gdb +<- triple:7838365f36342d70632d77696e646f77732d6d737663;/); // x86_64-pc-windows-msvc
    expect(log).toContain(`<library name="${path.resolve(STUB_EFI)}"><section address="0x${base.toString(16)}"/>`);
    expect(log).toMatch(new RegExp(`gdb +-> qFileLoadAddress:${Buffer.from(path.resolve(STUB_EFI)).toString('hex')}\\n.*gdb +<- ${base.toString(16)}\\n`));
    // the Darwin kernel search lldb runs on a target with no OS is gone
    expect(log).not.toMatch(/-> mfffffff000002010/);
    await expectAnswered(0);
    await expectImageBytes([leaf]);
  });

  it('register read (general registers from the stop record, no serial traffic) and write; step-inst, step, finish and next', async () => {
    const demoC = vm.at('demo_c');
    const before = (await vm.packets()).length;
    const { output } = await runLldb(vm.bridge.port, [
      'register read',
      'breakpoint set -n demo_c',
      'continue',
      'register write rax 0x1234abcd',
      'register read rax',
      'thread step-inst',
      'step',
      'finish',
      'next',
      'breakpoint delete',
      'process detach',
    ]);
    for (const r of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r15', 'rip', 'eflags', 'cs', 'ss']) {
      expect(output).toMatch(new RegExp(`^ +${r} = 0x[0-9a-f]+`, 'm'));
    }
    // a register the stop record lacks is unavailable, not 0xcccccccc
    expect(output).not.toMatch(/= 0xcccccccc/);
    expect(output).toMatch(/rax = 0x000000001234abcd/);
    expect(output).toMatch(/stop reason = instruction step into\n +frame #0: 0x[0-9a-f]+ BOOTX64\.EFI`demo_c/);
    expect(output).toMatch(/stop reason = step in\n +frame #0: 0x[0-9a-f]+ BOOTX64\.EFI`demo_leaf at workload\.c/);
    expect(output).toMatch(/stop reason = step out\nReturn value: \(unsigned long long\) \$\d+ = \d+\n\n +frame #0: 0x[0-9a-f]+ BOOTX64\.EFI`demo_c at workload\.c/);
    expect(output).toMatch(/stop reason = step over\n +frame #0: 0x[0-9a-f]+ BOOTX64\.EFI`demo_b at workload\.c/);
    expect(output).toContain('Process 1 detached');

    // lldb reads rax..gs one `p` at a time: each is answered from the stop record,
    // with no kernel traffic between the request and its reply
    const log = (await vm.packets()).slice(before).split('\n');
    const generalReads = log.flatMap((l, i) => {
      const m = / gdb +-> p([0-9a-f]+);thread:/.exec(l);
      return m && parseInt(m[1]!, 16) <= 0x17 ? [i] : [];
    });
    expect(generalReads.length).toBeGreaterThanOrEqual(24);
    for (const i of generalReads) {
      const reply = log.findIndex((l, j) => j > i && / gdb +<- /.test(l));
      expect(log.slice(i, reply).filter((l) => / target +->/.test(l))).toEqual([]);
    }
    await expectAnswered(before);
    // lldb's own step breakpoints sit on return addresses in the callers too
    await expectImageBytes([demoC, vm.at('demo_b'), vm.at('demo_a')], 0x20);
  });

  it('breakpoints by file:line and by address, memory read (breakpoint bytes hidden) and write, a write watchpoint', async () => {
    const leaf = vm.at('demo_leaf');
    const result = vm.at('g_last_result');
    const counterLine = lineOf('g_counter++;');
    const before = (await vm.packets()).length;
    const { output } = await runLldb(vm.bridge.port, [
      `breakpoint set -f workload.c -l ${counterLine}`,
      'continue',
      'breakpoint delete',
      `breakpoint set -a ${hex(leaf)}`,
      'continue',
      `memory read -f x -s 1 -c 4 ${hex(leaf)}`,
      `memory write -s 8 ${hex(result)} 0x4242`,
      `memory read -f x -s 8 -c 1 ${hex(result)}`,
      'breakpoint delete',
      `watchpoint set expression -w write -s 8 -- ${hex(result)}`,
      'continue',
      'watchpoint delete',
      'process detach',
    ]);
    expect(output).toMatch(new RegExp(`stop reason = breakpoint 1\\.1\\n +frame #0: 0x[0-9a-f]+ BOOTX64\\.EFI\`main at workload\\.c:${counterLine}`));
    expect(output).toMatch(new RegExp(`stop reason = breakpoint 2\\.1\\n +frame #0: 0x0*${leaf.toString(16)} BOOTX64\\.EFI\`demo_leaf`));
    // lldb's own breakpoint is in the kernel's memory, but a read shows the code
    const bytes = [...vm.original(leaf, 4)].map((b) => '0x' + b.toString(16).padStart(2, '0')).join(' ');
    expect(output).toContain(`0x${leaf.toString(16)}: ${bytes}`);
    expect(output).toContain(`0x${result.toString(16)}: 0x0000000000004242`);
    expect(output).toMatch(/Watchpoint created: Watchpoint 1: addr = 0x[0-9a-f]+ size = 8 state = enabled type = w/);
    expect(output).toMatch(/Watchpoint 1 hit:\nold value: 16962\nnew value: -?\d+/);
    expect(output).toMatch(/stop reason = watchpoint 1\n +frame #0: 0x[0-9a-f]+ BOOTX64\.EFI`main at workload\.c/);
    expect(output).toContain('Process 1 detached');
    await expectAnswered(before);
    await expectImageBytes([leaf, vm.at('main')], 0x100);
  });

  it('monitor lldb prints the commands that load the image by hand, and they work in a fresh lldb', async () => {
    const { output } = await runLldb(vm.bridge.port, ['process plugin packet monitor lldb', 'process detach']);
    const commands = output.split('\n').filter((l) => /^target (create|symbols add|modules load) /.test(l));
    expect(commands).toEqual([
      `target create ${path.resolve(STUB_EFI)}`,
      `target symbols add ${path.resolve(STUB_PDB)}`,
      expect.stringMatching(/^target modules load --file BOOTX64\.EFI --slide 0x[0-9a-f]+$/),
    ]);
    // no process: the commands alone put demo_leaf at the address the kernel has it at
    const leaf = vm.at('demo_leaf');
    const offline = await runLldb(0, [...commands, `image lookup -a ${hex(leaf + 4n)}`], { connect: false });
    expect(offline.output).toMatch(/Summary: BOOTX64\.EFI`demo_leaf \+ 4 at workload\.c:\d+/);
    await expectImageBytes([]);
  });

  it('a page fault is an exception stop whose reason lldb prints: what, where, which address', async () => {
    const trigger = vm.at('g_trigger');
    const before = (await vm.packets()).length;
    const { output } = await runLldb(vm.bridge.port, [`memory write -s 4 ${hex(trigger)} 1`, 'continue'], {
      onCrash: ['thread backtrace -c 2', 'process detach'],
    });
    expect(output).toMatch(
      /stop reason = page fault \(#PF\) at rip 0x[0-9a-f]+, accessing 0x7ffffffff000 \(error code 0x[0-9a-f]+: page not present, read, kernel mode\)\n +frame #0: 0x[0-9a-f]+ BOOTX64\.EFI`demo_fault/,
    );
    expect(output).toMatch(/frame #1: 0x[0-9a-f]+ BOOTX64\.EFI`main at workload\.c/);
    expect(output).toContain('Process 1 detached');
    await expectAnswered(before);
    await expectImageBytes([]);
  });

  it('process interrupt stops a running kernel; process kill ends the process (the stub reboots and is found at main again)', async () => {
    const before = (await vm.packets()).length;
    const { output } = await runLldb(vm.bridge.port, [
      // lldb's batch mode waits for every stop; async mode lets `process interrupt` reach a running target
      'script lldb.debugger.SetAsync(True)',
      'process continue',
      'script import time; time.sleep(1.0)',
      'process interrupt',
      'script import time; time.sleep(1.0)',
      'script lldb.debugger.SetAsync(False)',
      'thread backtrace -c 1',
      'process kill',
    ]);
    expect(output).toMatch(/stop reason = signal SIGINT\n +frame #0: 0x[0-9a-f]+ BOOTX64\.EFI`\w+/);
    expect(output).toMatch(/Process 1 exited with status = 9/);
    await expectAnswered(before);
    // with `reset` a kill reboots the machine; the bridge handshakes with the new boot
    const stop = await stopWithin(vm.bridge.session.waitForStop(), 90_000);
    expect(stop.stop.kind).toBe('breakpoint');
  });
});

describe('lldb when josgdb has no image file (it read the image from target memory)', () => {
  let qemu: QemuInstance | undefined;
  let bridge: RunningBridge | undefined;
  let tmp = '';

  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'josgdb-lldb-'));
    qemu = await launchQemu({ efi: STUB_EFI });
    bridge = await bridgeTo(qemu.targetSpec, { symbols: { pdb: STUB_PDB }, packetLogPath: path.join(tmp, 'packets.log') });
    await bridge.session.waitForStop();
  });

  afterAll(async () => {
    await bridge?.close();
    await qemu?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('names no file to lldb, and monitor lldb loads the user\'s copy section by section', async () => {
    const b = bridge!;
    const { output } = await runLldb(b.port, ['process plugin packet monitor lldb', 'process detach']);
    expect(output).toContain('# josgdb read the image from target memory: give lldb your copy of BOOTX64.efi');
    await new Promise((r) => setTimeout(r, 200)); // the packet log is written asynchronously
    const supported = replyTo(readFileSync(path.join(tmp, 'packets.log'), 'utf8'), 'qSupported');
    expect(supported).toContain('qXfer:exec-file:read+'); // gdb still gets its symbol file
    expect(supported).not.toContain('qXfer:libraries:read+');
    const commands = output.split('\n').filter((l) => /^target (create|symbols add|modules load) /.test(l));
    expect(commands[0]).toBe('target create BOOTX64.efi');
    expect(commands[1]).toBe(`target symbols add ${path.resolve(STUB_PDB)}`);
    expect(commands[2]).toMatch(/^target modules load --file BOOTX64\.efi \.text 0x[0-9a-f]+ \.rdata 0x[0-9a-f]+ \.data 0x[0-9a-f]+/);
    // the user's copy of the image, under the name josgdb gave
    const copy = path.join(tmp, 'BOOTX64.efi');
    copyFileSync(STUB_EFI, copy);
    const leaf = b.session.target.info.imageBase + stubPublicRvas(STUB_EFI, STUB_PDB).get('demo_leaf')!;
    const offline = await runLldb(0, [`target create ${copy}`, ...commands.slice(1), `image lookup -a ${hex(leaf + 4n)}`], { connect: false });
    expect(offline.output).toMatch(/Summary: BOOTX64\.efi`demo_leaf \+ 4 at workload\.c:\d+/);
  });
});
