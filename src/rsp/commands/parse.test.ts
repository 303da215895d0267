import { RspError } from '../errors';
import { clientSupports, formatThreadId, packetName, parseCommand, parseThreadId, PARSERS, type RspCommand } from '.';

const parse = (text: string | Buffer): RspCommand =>
  parseCommand(typeof text === 'string' ? Buffer.from(text, 'latin1') : text);

function expectMalformed(text: string | Buffer): void {
  let thrown: unknown;
  try {
    parse(text);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(RspError);
  expect((thrown as RspError).errno).toBe(0x16);
}

type Case = [string, RspCommand];

function table(name: string, ok: Case[], bad: string[]): void {
  describe(name, () => {
    if (ok.length > 0) {
      it.each(ok)('parses %j', (text, expected) => {
        expect(parse(text)).toEqual(expected);
      });
    }
    if (bad.length > 0) {
      it.each(bad)('rejects %j', (text) => expectMalformed(text));
    }
  });
}

table(
  'session',
  [
    ['?', { kind: 'haltReason' }],
    ['QStartNoAckMode', { kind: 'QStartNoAckMode' }],
    ['D', { kind: 'detach' }],
    ['D;1a', { kind: 'detach', pid: 0x1a }],
    ['k', { kind: 'kill' }],
    ['vKill;2', { kind: 'kill', pid: 2 }],
    ['vKill', { kind: 'kill' }],
    ['qAttached', { kind: 'qAttached' }],
    ['qAttached:1', { kind: 'qAttached', pid: 1 }],
    ['qOffsets', { kind: 'qOffsets' }],
    ['qTStatus', { kind: 'qTStatus' }],
    ['vMustReplyEmpty', { kind: 'vMustReplyEmpty' }],
    ['qSymbol::', { kind: 'qSymbol' }],
    ['qSymbol::6d61696e', { kind: 'qSymbol', name: 'main' }],
    ['qSymbol:1000:6d61696e', { kind: 'qSymbol', name: 'main', value: 0x1000n }],
  ],
  ['D1', 'D;', 'D;zz', 'vKill;', 'qAttached:', 'qAttached:x', 'qSymbol', 'qSymbol:', 'qSymbol::6d6', 'qSymbol:zz:6d'],
);

describe('qSupported', () => {
  it('parses gdb 13 feature list', () => {
    const cmd = parse(
      'qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;exec-events+;vContSupported+;QThreadEvents+;no-resumed+;memory-tagging+;xmlRegisters=i386',
    );
    expect(cmd.kind).toBe('qSupported');
    if (cmd.kind !== 'qSupported') return;
    expect(cmd.features.get('multiprocess')).toEqual({ support: '+' });
    expect(cmd.features.get('xmlRegisters')).toEqual({ value: 'i386' });
    expect(cmd.features.size).toBe(12);
    expect(clientSupports(cmd, 'swbreak')).toBe(true);
    expect(clientSupports(cmd, 'xmlRegisters')).toBe(false);
    expect(clientSupports(cmd, 'nonesuch')).toBe(false);
  });

  it.each<[string, [string, unknown][]]>([
    ['qSupported', []],
    ['qSupported:', []],
    ['qSupported:a-;b?;c=;d=x=y', [['a', { support: '-' }], ['b', { support: '?' }], ['c', { value: '' }], ['d', { value: 'x=y' }]]],
    // lldb's list
    ['qSupported:xmlRegisters=i386,arm,mips,arc;multiprocess+;fork-events+;vfork-events+', [
      ['xmlRegisters', { value: 'i386,arm,mips,arc' }], ['multiprocess', { support: '+' }],
      ['fork-events', { support: '+' }], ['vfork-events', { support: '+' }],
    ]],
  ])('parses %j', (text, features) => {
    expect(parse(text)).toEqual({ kind: 'qSupported', features: new Map(features) });
  });

  it.each(['qSupported:foo', 'qSupported:+', 'qSupported:=x', 'qSupported;x+'])('rejects %j', (t) => expectMalformed(t));
});

table(
  'registers',
  [
    ['g', { kind: 'readRegisters' }],
    ['g;thread:1f;', { kind: 'readRegisters', thread: 0x1f }],
    ['G0011', { kind: 'writeRegisters', data: Buffer.from([0, 0x11]) }],
    ['Gaabb;thread:2;', { kind: 'writeRegisters', data: Buffer.from([0xaa, 0xbb]), thread: 2 }],
    ['p10', { kind: 'readRegister', regnum: 16 }],
    ['p3d;thread:1;', { kind: 'readRegister', regnum: 0x3d, thread: 1 }],
    ['P10=0010000000000000', { kind: 'writeRegister', regnum: 16, value: Buffer.from('0010000000000000', 'hex') }],
    ['P0=ff;thread:3', { kind: 'writeRegister', regnum: 0, value: Buffer.from([0xff]), thread: 3 }],
  ],
  ['gx', 'g;thread:;', 'G', 'G0', 'Gxx', 'p', 'pzz', 'p10000', 'P10', 'P10=', 'P=00', 'P10=0', 'P10=zz', 'g;thread:zz;'],
);

table(
  'memory',
  [
    ['m1000,4', { kind: 'readMemory', addr: 0x1000n, length: 4 }],
    ['mffffffff80000000,200', { kind: 'readMemory', addr: 0xffffffff80000000n, length: 0x200 }],
    ['x0,0', { kind: 'readMemoryBinary', addr: 0n, length: 0 }],
    ['x7ffe0000,800', { kind: 'readMemoryBinary', addr: 0x7ffe0000n, length: 0x800 }],
    ['M1000,2:cc90', { kind: 'writeMemory', addr: 0x1000n, data: Buffer.from([0xcc, 0x90]) }],
    ['M1000,0:', { kind: 'writeMemory', addr: 0x1000n, data: Buffer.alloc(0) }],
    ['X1000,0:', { kind: 'writeMemoryBinary', addr: 0x1000n, data: Buffer.alloc(0) }],
  ],
  [
    'm', 'm1000', 'm1000,', 'm,4', 'mzz,4', 'm1000,80000000', 'm10000000000000000,1',
    'M1000,2:cc', 'M1000,1:cc90', 'M1000,1', 'M1000,1:c', 'X1000,2:a', 'X1000,1', 'Xzz,1:a',
  ],
);

describe('X binary data', () => {
  it('takes raw bytes (already unescaped by framing), including : # $ and NUL', () => {
    const data = Buffer.from([0x3a, 0x23, 0x24, 0x7d, 0x2a, 0x00, 0xff, 0x03]);
    const payload = Buffer.concat([Buffer.from('X2000,8:'), data]);
    expect(parse(payload)).toEqual({ kind: 'writeMemoryBinary', addr: 0x2000n, data });
  });
});

table(
  'breakpoints',
  [
    ['Z0,401000,1', { kind: 'insertBreakpoint', type: 'software', addr: 0x401000n, size: 1 }],
    ['Z1,401000,1', { kind: 'insertBreakpoint', type: 'hardware', addr: 0x401000n, size: 1 }],
    ['Z2,1000,8', { kind: 'insertBreakpoint', type: 'write', addr: 0x1000n, size: 8 }],
    ['Z3,1000,4', { kind: 'insertBreakpoint', type: 'read', addr: 0x1000n, size: 4 }],
    ['Z4,1000,2', { kind: 'insertBreakpoint', type: 'access', addr: 0x1000n, size: 2 }],
    ['Z0,1000,1;X3,220101', { kind: 'insertBreakpoint', type: 'software', addr: 0x1000n, size: 1, extra: 'X3,220101' }],
    ['z0,401000,1', { kind: 'removeBreakpoint', type: 'software', addr: 0x401000n, size: 1 }],
    ['z4,1000,2', { kind: 'removeBreakpoint', type: 'access', addr: 0x1000n, size: 2 }],
  ],
  ['Z', 'Z0', 'Z0,1000', 'Z5,1000,1', 'Zx,1000,1', 'Z00,1000,1', 'Z0,,1', 'Z0,1000,', 'Z0,zz,1', 'z0,1000,1;X1,00', 'Z0,1000,10000'],
);

table(
  'resume',
  [
    ['c', { kind: 'continue' }],
    ['c401000', { kind: 'continue', addr: 0x401000n }],
    ['s', { kind: 'step' }],
    ['s10', { kind: 'step', addr: 0x10n }],
    ['C05', { kind: 'continueWithSignal', signal: 5 }],
    ['C0b;1000', { kind: 'continueWithSignal', signal: 11, addr: 0x1000n }],
    ['S02', { kind: 'stepWithSignal', signal: 2 }],
    ['vCont?', { kind: 'vContQuery' }],
    ['vCont;c', { kind: 'vCont', actions: [{ op: 'continue' }] }],
    ['vCont;s:1;c', { kind: 'vCont', actions: [{ op: 'step', thread: { tid: 1 } }, { op: 'continue' }] }],
    [
      'vCont;C05:p1.-1;S0b:2;t:-1',
      {
        kind: 'vCont',
        actions: [
          { op: 'continue', signal: 5, thread: { pid: 1, tid: 'all' } },
          { op: 'step', signal: 11, thread: { tid: 2 } },
          { op: 'stop', thread: { tid: 'all' } },
        ],
      },
    ],
    ['vCont;r1000,1010:1', { kind: 'vCont', actions: [{ op: 'rangeStep', start: 0x1000n, end: 0x1010n, thread: { tid: 1 } }] }],
  ],
  ['cz', 'c-1', 'sxyz', 'C', 'Cxx', 'C100', 'C05;', 'C05;zz', 'vCont', 'vCont;', 'vCont;x', 'vCont;c5', 'vCont;r1000', 'vCont;c:', 'vCont;c;', 'vCont;Czz', 'vCont;tt'],
);

table(
  'threads',
  [
    ['Hg0', { kind: 'setThread', op: 'g', thread: { tid: 'any' } }],
    ['Hc-1', { kind: 'setThread', op: 'c', thread: { tid: 'all' } }],
    ['Hgp1.2', { kind: 'setThread', op: 'g', thread: { pid: 1, tid: 2 } }],
    ['T1', { kind: 'threadAlive', thread: { tid: 1 } }],
    ['qC', { kind: 'currentThread' }],
    ['qfThreadInfo', { kind: 'threadInfoFirst' }],
    ['qsThreadInfo', { kind: 'threadInfoNext' }],
    ['qThreadExtraInfo,1', { kind: 'threadExtraInfo', thread: { tid: 1 } }],
  ],
  ['H', 'Hg', 'H0', 'Hg-2', 'Hgzz', 'T', 'Tp', 'qThreadExtraInfo', 'qThreadExtraInfo,'],
);

table(
  'qXfer / monitor',
  [
    ['qXfer:features:read:target.xml:0,ffb', { kind: 'qXferRead', object: 'features', annex: 'target.xml', offset: 0, length: 0xffb }],
    ['qXfer:threads:read::1000,800', { kind: 'qXferRead', object: 'threads', annex: '', offset: 0x1000, length: 0x800 }],
    ['qXfer:siginfo:write::0:abcd', { kind: 'unknown', name: 'qXfer:siginfo:write' }],
    ['qRcmd,68656c70', { kind: 'monitor', command: 'help' }],
    ['qRcmd,', { kind: 'monitor', command: '' }],
  ],
  ['qXfer', 'qXfer:', 'qXfer:features', 'qXfer:features:read:target.xml', 'qXfer:features:read:target.xml:0', 'qXfer::read:a:0,1', 'qXfer:features:read:a:b:0,1', 'qXfer:features:read:a:zz,1', 'qRcmd', 'qRcmd,6', 'qRcmd,zz'],
);

table(
  'lldb',
  [
    ['qHostInfo', { kind: 'qHostInfo' }],
    ['qProcessInfo', { kind: 'qProcessInfo' }],
    ['QThreadSuffixSupported', { kind: 'QThreadSuffixSupported' }],
    ['QListThreadsInStopReply', { kind: 'QListThreadsInStopReply' }],
    ['qGDBServerVersion', { kind: 'qGDBServerVersion' }],
    ['QEnableErrorStrings', { kind: 'QEnableErrorStrings' }],
    ['jThreadsInfo', { kind: 'jThreadsInfo' }],
    ['qRegisterInfo0', { kind: 'qRegisterInfo', regnum: 0 }],
    ['qRegisterInfo3d', { kind: 'qRegisterInfo', regnum: 0x3d }],
    ['qMemoryRegionInfo', { kind: 'qMemoryRegionInfo' }],
    ['qMemoryRegionInfo:7fff0000', { kind: 'qMemoryRegionInfo', addr: 0x7fff0000n }],
    ['qThreadStopInfo1', { kind: 'qThreadStopInfo', thread: 1 }],
    ['qWatchpointSupportInfo:', { kind: 'qWatchpointSupportInfo' }],
    ['qWatchpointSupportInfo', { kind: 'qWatchpointSupportInfo' }],
    ['qFileLoadAddress:2f612f42204f4f542e454649', { kind: 'qFileLoadAddress', path: '/a/B OOT.EFI' }],
  ],
  [
    'qRegisterInfo',
    'qRegisterInfozz',
    'qMemoryRegionInfo:',
    'qMemoryRegionInfo:q',
    'qThreadStopInfo',
    'qWatchpointSupportInfo:x',
    'qFileLoadAddress',
    'qFileLoadAddress:',
    'qFileLoadAddress:2f6',
    'qFileLoadAddress:zz',
  ],
);

describe('unknown packets', () => {
  it.each([
    ['vFile:mkdir:2f,1ff', 'vFile:mkdir'],
    ['qTfV', 'qTfV'],
    ['qCRC:1000,10', 'qCRC'],
    ['qCx', 'qCx'],
    ['qSupportedX', 'qSupportedX'],
    ['QStartNoAckModeX', 'QStartNoAckModeX'],
    ['vCont?x', 'vCont'],
    ['kx', 'k'],
    ['!', '!'],
    ['', ''],
    ['QPassSignals:e;10', 'QPassSignals'],
    ['qL1200000000000000000', 'qL1200000000000000000'],
    ['jGetLoadedDynamicLibrariesInfos:{}', 'jGetLoadedDynamicLibrariesInfos'],
    ['_M1000,rwx', '_M1000'],
    ['vAttach;1', 'vAttach'],
  ])('%j -> unknown %j', (text, name) => {
    expect(parse(text)).toEqual({ kind: 'unknown', name });
  });

  it('caps the name length', () => {
    expect(packetName(Buffer.from('q' + 'a'.repeat(1000))).length).toBeLessThanOrEqual(64);
  });
});

describe('thread ids', () => {
  it.each<[string, unknown]>([
    ['-1', { tid: 'all' }],
    ['0', { tid: 'any' }],
    ['1f', { tid: 0x1f }],
    ['p1', { pid: 1, tid: 'all' }],
    ['p-1.-1', { pid: 'all', tid: 'all' }],
    ['p2.0', { pid: 2, tid: 'any' }],
  ])('%j', (text, id) => {
    expect(parseThreadId(text)).toEqual(id);
    expect(formatThreadId(id as never)).toBe(text === 'p1' ? 'p1.-1' : text);
  });

  it.each(['', 'p', 'p.1', 'p1.', '-2', 'x', 'p1.2.3'])('rejects %j', (t) => {
    expect(() => parseThreadId(t)).toThrow(RspError);
  });
});

describe('parser table', () => {
  it('has no duplicate prefixes', () => {
    const prefixes = PARSERS.map((p) => p.prefix);
    expect(new Set(prefixes).size).toBe(prefixes.length);
  });
});
