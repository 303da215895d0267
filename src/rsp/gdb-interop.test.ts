/**
 * Real gdb against a tiny fake stub built from this layer alone (RspConnection,
 * parseCommand, targetXml, the register table and reply builders). This is the
 * oracle for "stock gdb accepts our target.xml and g layout": gdb must set up
 * amd64 from it, read rax..gs from the short `g` reply, fetch xmm0/cr3/... with
 * `p`, show unavailable registers as <unavailable>, and understand our stop
 * replies, console output and monitor replies.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { buildQSupportedReply, buildVContReply } from './command-specs';
import type { RspCommand } from './commands';
import { RspConnection, type MalformedCommand } from './connection';
import { errorReply, RspErrno, RspError } from './errors';
import {
  encodeRegisterBlock,
  encodeRegisterValue,
  registerByNumber,
  targetXml,
  qXferRead,
  type RegisterValue,
} from './registers';
import { buildStopReply, consoleOutputPackets, GdbSignal, monitorReply } from './stop-reply';

const GDB = process.env.JOSGDB_GDB ?? '/usr/bin/gdb';

jest.setTimeout(60_000);

const XMM0 = Buffer.from([...Array(16).keys()]); // 00 01 02 ... 0f
const REGS = new Map<string, RegisterValue | undefined>([
  ['rax', 0x1122334455667788n],
  ['rbx', 2n],
  ['rcx', 3n],
  ['rdx', 4n],
  ['rsi', 5n],
  ['rdi', 6n],
  ['rbp', 0xffff800000010000n],
  ['rsp', 0xffff80000000ff00n],
  ['r8', 8n],
  ['r15', 15n],
  ['rip', 0xffffffff80001234n],
  ['eflags', 0x246n],
  ['cs', 0x38n],
  ['ss', 0x30n],
  ['ds', 0x30n],
  ['es', 0x30n],
  ['fs', 0n],
  ['gs', 0n],
  // r9..r14 deliberately missing: unavailable, not zero
  ['xmm0', XMM0],
  ['mxcsr', 0x1f80n],
  ['fs_base', 0n],
  ['gs_base', 0xffff800000123000n],
  ['cr0', 0x80010033n],
  ['cr3', 0x1000n],
  ['cr4', 0x6a0n],
  // st0-7, cr2, cr8, dr0-7: unavailable
]);

interface Stub {
  port: number;
  packets: string[];
  close(): Promise<void>;
}

function startStub(): Promise<Stub> {
  const packets: string[] = [];
  const xml = targetXml();
  const server = net.createServer((socket) => {
    const conn = new RspConnection(socket, {
      trace: (dir, text) => {
        if (dir === 'in' && text !== '+' && text !== '-') packets.push(text);
      },
    });
    const handle = (cmd: RspCommand | MalformedCommand): string | Buffer | null => {
      switch (cmd.kind) {
        case 'malformed':
          throw cmd.error;
        case 'qSupported':
          return buildQSupportedReply(new Set(['hw-breakpoints']), { packetSize: 0x4000 });
        case 'QStartNoAckMode':
          return 'OK';
        case 'qXferRead':
          if (cmd.object === 'features' && cmd.annex === 'target.xml') return qXferRead(xml, cmd.offset, cmd.length);
          throw new RspError(RspErrno.ENOENT);
        case 'haltReason':
          return buildStopReply({ signal: GdbSignal.SIGTRAP, thread: 1, registers: REGS });
        case 'readRegisters':
          return encodeRegisterBlock(REGS);
        case 'readRegister': {
          const reg = registerByNumber(cmd.regnum);
          if (!reg) throw new RspError(RspErrno.EINVAL);
          return encodeRegisterValue(reg, REGS.get(reg.name));
        }
        case 'readMemory':
          return '00'.repeat(cmd.length);
        case 'setThread':
        case 'threadAlive':
        case 'detach':
        case 'kill':
          return 'OK';
        case 'currentThread':
          return 'QC1';
        case 'threadInfoFirst':
          return 'm1';
        case 'threadInfoNext':
          return 'l';
        case 'qAttached':
          return '1';
        case 'vContQuery':
          return buildVContReply(new Set());
        case 'monitor':
          return monitorReply(`monitor got '${cmd.command}'\n`);
        case 'continue':
        case 'vCont':
          setTimeout(() => {
            for (const p of consoleOutputPackets('hello from the kernel\n', 8)) conn.sendAsync(p);
            conn.sendStopReply(buildStopReply({ signal: GdbSignal.SIGBUS, thread: 1, registers: REGS }));
          }, 50);
          return null;
        default:
          return '';
      }
    };
    conn.onCommand((cmd) => {
      try {
        return handle(cmd);
      } catch (err) {
        return errorReply(err);
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      resolve({
        port,
        packets,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}

function runGdb(port: number, commands: string[]): Promise<{ out: string; code: number | null }> {
  const args = ['-batch', '-nx', '-ex', 'set pagination off', '-ex', `target remote 127.0.0.1:${port}`];
  for (const c of commands) args.push('-ex', c);
  return new Promise((resolve, reject) => {
    const child = spawn(GDB, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ out, code });
    });
  });
}

describe(`real gdb (${GDB})`, () => {
  it('has gdb installed (scripts/install-deps.sh installs it)', () => {
    expect(existsSync(GDB)).toBe(true);
  });

  let stub: Stub;
  let out = '';

  beforeAll(async () => {
    stub = await startStub();
    const result = await runGdb(stub.port, [
      'show osabi',
      'show architecture',
      'info registers rip',
      'p/x $rax',
      'p $eflags',
      'p $r9',
      'p/x $xmm0.uint128',
      'p/x $cr3',
      'p $cr0',
      'p $st0',
      'p/x $gs_base',
      'p $cs',
      'monitor hello',
      'continue',
      'p/x $pc',
    ]);
    out = result.out;
    if (process.env.JOSGDB_SHOW_GDB) console.log(out + '\n---\n' + stub.packets.join('\n'));
  });

  afterAll(async () => {
    await stub?.close();
  });

  it('accepts target.xml as amd64 (no tdesc warnings)', () => {
    // The only warning allowed is the one about having no executable (we load none).
    const warnings = out.split('\n').filter((l) => /warning/i.test(l) && !/No executable has been specified/.test(l));
    expect(warnings).toEqual([]);
    expect(out).not.toMatch(/Remote 'g' packet reply|Truncated register|Could not load XML|Remote failure reply|Ignoring packet error/i);
    expect(out).toMatch(/The target architecture is set to "auto" \(currently "i386:x86-64"\)/);
    expect(out).toMatch(/currently "none"/);
  });

  it('reads general registers from the short g reply and expedited stop registers', () => {
    expect(out).toMatch(/rip\s+0xffffffff80001234\s+0xffffffff80001234/);
    expect(out).toMatch(/= 0x1122334455667788/);
    expect(out).toMatch(/= \[ PF ZF IF \]/);
    expect(out).toMatch(/\$cs = 56|= 56\n/);
  });

  it('shows registers the target does not provide as <unavailable>', () => {
    expect(out).toMatch(/= <unavailable>/); // r9 (missing from g) and st0 (p reply xx)
    expect(out.match(/<unavailable>/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it('reads xmm0, cr3, cr0, gs_base', () => {
    expect(out).toMatch(/= 0xf0e0d0c0b0a09080706050403020100/);
    expect(out).toMatch(/= 0x1000\n/);
    expect(out).toMatch(/= \[ PE MP ET NE WP PG \]/);
    expect(out).toMatch(/= 0xffff800000123000/);
  });

  it('fetched registers beyond the g reply with p, and the g set without p', () => {
    const p = stub.packets;
    expect(p).toContain('g');
    expect(p).toContain('p28'); // xmm0 = 40
    expect(p).toContain('p3d'); // cr3 = 61
    expect(p).toContain('p3b'); // cr0 = 59
    expect(p).toContain('p18'); // st0 = 24
    expect(p).toContain('p3a'); // gs_base = 58
    for (const n of [0, 9, 16, 17, 18]) expect(p).not.toContain(`p${n.toString(16)}`);
  });

  it('negotiated no-ack mode and read target.xml via qXfer', () => {
    expect(stub.packets.some((t) => t.startsWith('qSupported:'))).toBe(true);
    expect(stub.packets).toContain('QStartNoAckMode');
    expect(stub.packets.some((t) => t.startsWith('qXfer:features:read:target.xml:'))).toBe(true);
  });

  it('prints monitor output, console output and the SIGBUS stop', () => {
    expect(out).toContain("monitor got 'hello'");
    expect(out).toContain('hello from the kernel');
    expect(out).toMatch(/Program received signal SIGBUS, Bus error\./);
    expect(out).toMatch(/= 0xffffffff80001234/);
  });
});
