import {
  binaryMemoryReply,
  buildStopReply,
  consoleOutputPackets,
  exitReply,
  GdbSignal,
  monitorReply,
  signalReply,
  terminatedReply,
} from './stop-reply';

describe('buildStopReply', () => {
  const regs = new Map<string, bigint | undefined>([
    ['rip', 0xffffffff80001000n],
    ['rsp', 0x7000n],
    ['rbp', undefined],
    ['rax', 1n],
  ]);

  it.each<[string, Parameters<typeof buildStopReply>[0], string]>([
    ['bare', { signal: GdbSignal.SIGTRAP }, 'T05'],
    ['thread', { signal: GdbSignal.SIGINT, thread: 1 }, 'T02thread:1;'],
    [
      'expedited rbp/rsp/rip (unknown rbp skipped, rax not expedited)',
      { signal: 5, registers: regs, thread: 0x1a },
      'T0507:0070000000000000;10:00100080ffffffff;thread:1a;',
    ],
    ['custom expedite list', { signal: 5, registers: regs, expedite: ['rax'] }, 'T0500:0100000000000000;'],
    ['swbreak', { signal: 5, thread: 1, reason: { kind: 'swbreak' } }, 'T05thread:1;swbreak:;'],
    ['hwbreak', { signal: 5, reason: { kind: 'hwbreak' } }, 'T05hwbreak:;'],
    ['watch', { signal: 5, reason: { kind: 'watch', addr: 0xffff800000001000n } }, 'T05watch:ffff800000001000;'],
    ['rwatch', { signal: 5, reason: { kind: 'rwatch', addr: 0x10n } }, 'T05rwatch:10;'],
    ['awatch', { signal: 5, reason: { kind: 'awatch', addr: 0x10n } }, 'T05awatch:10;'],
    ['lldb reason + threads', { signal: 5, thread: 1, threads: [1, 2], lldbReason: 'breakpoint' }, 'T05thread:1;threads:1,2;reason:breakpoint;'],
    [
      'lldb: thread pcs, libraries changed, reason and hex description, in the order lldb-server sends them',
      { signal: 11, thread: 1, threads: [1], threadPcs: [0x1de15700n], librariesChanged: true, lldbReason: 'exception', description: 'page fault' },
      'T0bthread:1;threads:1;thread-pcs:1de15700;library:;reason:exception;description:70616765206661756c74;',
    ],
    ['SIGSEGV', { signal: GdbSignal.SIGSEGV }, 'T0b'],
    ['SIGBUS is gdb 10, not Linux 7', { signal: GdbSignal.SIGBUS }, 'T0a'],
  ])('%s', (_name, opts, reply) => {
    expect(buildStopReply(opts)).toBe(reply);
  });
});

describe('simple replies', () => {
  it.each([
    [signalReply(5), 'S05'],
    [exitReply(0), 'W00'],
    [exitReply(1, 0x2a), 'W01;process:2a'],
    [terminatedReply(9), 'X09'],
    [monitorReply(''), 'OK'],
    [monitorReply('hi\n'), '68690a'],
  ])('%s', (got, want) => expect(got).toBe(want));
});

describe('consoleOutputPackets', () => {
  it('hex-encodes and splits at maxBytes', () => {
    expect(consoleOutputPackets('hello', 2)).toEqual(['O6865', 'O6c6c', 'O6f']);
    expect(consoleOutputPackets('')).toEqual([]);
  });

  it('bounds every packet and loses nothing', () => {
    const text = 'x'.repeat(1000) + 'é\n';
    const packets = consoleOutputPackets(text, 256);
    for (const p of packets) expect(p.length).toBeLessThanOrEqual(1 + 512);
    const back = Buffer.concat(packets.map((p) => Buffer.from(p.slice(1), 'hex'))).toString('utf8');
    expect(back).toBe(text);
  });
});

describe('binaryMemoryReply', () => {
  it('prefixes b for gdb, raw for lldb, OK for lldb probes', () => {
    expect(binaryMemoryReply(Buffer.from([1, 2]), 'gdb')).toEqual(Buffer.from([0x62, 1, 2]));
    expect(binaryMemoryReply(Buffer.from([1, 2]), 'lldb')).toEqual(Buffer.from([1, 2]));
    expect(binaryMemoryReply(Buffer.alloc(0), 'lldb').toString()).toBe('OK');
  });
});
