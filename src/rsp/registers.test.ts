import { RspError } from './errors';
import {
  decodeRegisterBlock,
  decodeRegisterValue,
  encodeRegisterBlock,
  encodeRegisterValue,
  G_PACKET_REGISTERS,
  G_PACKET_SIZE,
  qRegisterInfoReply,
  qXferRead,
  registerByName,
  registerByNumber,
  REGISTERS,
  targetXml,
} from './registers';

/** Minimal XML well-formedness: balanced tags, quoted attributes, one root. */
function checkWellFormed(xml: string): string[] {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '').replace(/<!DOCTYPE[^>]*>\s*/, '');
  const stack: string[] = [];
  const roots: string[] = [];
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w:.-]+="[^"<&]*")*)\s*(\/?)>/g;
  let last = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const between = body.slice(last, m.index);
    if (between.includes('<') || between.includes('>')) throw new Error(`stray markup near ${m.index}: ${between}`);
    last = tag.lastIndex;
    const [, close, name, , selfClose] = m;
    if (close) {
      if (stack.pop() !== name) throw new Error(`mismatched </${name}>`);
    } else if (!selfClose) {
      if (stack.length === 0) roots.push(name!);
      stack.push(name!);
    }
  }
  if (body.slice(last).trim() !== '') throw new Error('trailing text');
  if (stack.length !== 0) throw new Error(`unclosed ${stack.join(',')}`);
  return roots;
}

describe('register table', () => {
  it('numbers registers by index, gdb amd64 order', () => {
    REGISTERS.forEach((r, i) => expect(r.regnum).toBe(i));
    const expectNum: [string, number][] = [
      ['rax', 0], ['rbx', 1], ['rbp', 6], ['rsp', 7], ['r15', 15], ['rip', 16], ['eflags', 17], ['cs', 18],
      ['gs', 23], ['st0', 24], ['st7', 31], ['fctrl', 32], ['fop', 39], ['xmm0', 40], ['xmm15', 55],
      ['mxcsr', 56], ['fs_base', 57], ['gs_base', 58], ['cr0', 59], ['cr3', 61], ['cr8', 63], ['dr0', 64],
      ['dr7', 69],
    ];
    for (const [name, n] of expectNum) expect([name, registerByName(name)?.regnum]).toEqual([name, n]);
    expect(REGISTERS).toHaveLength(70);
  });

  it('has unique names and byte sizes matching bitsize', () => {
    expect(new Set(REGISTERS.map((r) => r.name)).size).toBe(REGISTERS.length);
    for (const r of REGISTERS) expect(r.size * 8).toBe(r.bitsize);
  });

  it('lays out offsets contiguously', () => {
    let off = 0;
    for (const r of REGISTERS) {
      expect(r.offset).toBe(off);
      off += r.size;
    }
  });

  it('g packet = rax..gs, 24 registers, 164 bytes', () => {
    expect(G_PACKET_REGISTERS.map((r) => r.name)).toEqual([
      'rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15',
      'rip', 'eflags', 'cs', 'ss', 'ds', 'es', 'fs', 'gs',
    ]);
    expect(G_PACKET_SIZE).toBe(164);
  });

  it('looks registers up by number and name', () => {
    expect(registerByNumber(16)?.name).toBe('rip');
    expect(registerByNumber(70)).toBeUndefined();
    expect(registerByNumber(-1)).toBeUndefined();
    expect(registerByName('nope')).toBeUndefined();
  });
});

describe('register values', () => {
  const eflags = registerByName('eflags')!;
  const xmm0 = registerByName('xmm0')!;
  const st0 = registerByName('st0')!;

  it.each<[string, bigint | Buffer | undefined, string]>([
    ['rip', 0xffffffff80001000n, '00100080ffffffff'],
    ['eflags', 0x246n, '46020000'],
    ['cs', 0x8n, '08000000'],
    ['rip', undefined, 'x'.repeat(16)],
    ['st0', undefined, 'x'.repeat(20)],
    ['xmm0', Buffer.alloc(16, 0xab), 'ab'.repeat(16)],
  ])('%s = %p -> %s', (name, value, hex) => {
    expect(encodeRegisterValue(registerByName(name)!, value)).toBe(hex);
  });

  it('rejects Buffers of the wrong size', () => {
    expect(() => encodeRegisterValue(xmm0, Buffer.alloc(8))).toThrow(/expected 16/);
  });

  it('decodes P values by register size', () => {
    expect(decodeRegisterValue(eflags, Buffer.from('46020000', 'hex'))).toBe(0x246n);
    expect(decodeRegisterValue(st0, Buffer.alloc(10, 1))).toEqual(Buffer.alloc(10, 1));
    expect(() => decodeRegisterValue(eflags, Buffer.alloc(8))).toThrow(RspError);
  });
});

describe('g / G blocks', () => {
  it('encodes the general set with unavailable markers, never zeros', () => {
    const values = new Map<string, bigint | Buffer | undefined>([
      ['rax', 1n],
      ['rip', 0x401000n],
      ['eflags', 0x202n],
      ['cs', undefined],
    ]);
    const g = encodeRegisterBlock(values);
    expect(g).toHaveLength(G_PACKET_SIZE * 2);
    expect(g.slice(0, 16)).toBe('0100000000000000');
    expect(g.slice(16, 32)).toBe('x'.repeat(16)); // rbx not given
    expect(g.slice(16 * 16, 17 * 16)).toBe('0010400000000000'); // rip
    expect(g.slice(17 * 16, 17 * 16 + 8)).toBe('02020000');
    expect(g.slice(17 * 16 + 8, 17 * 16 + 16)).toBe('xxxxxxxx'); // cs undefined
  });

  it('ignores non-g registers and rejects unknown names', () => {
    expect(encodeRegisterBlock(new Map([['cr3', 0x1000n]]))).toBe('x'.repeat(G_PACKET_SIZE * 2));
    expect(() => encodeRegisterBlock(new Map([['rxx', 0n]]))).toThrow(/unknown register/);
  });

  it('decodes a G block', () => {
    const data = Buffer.alloc(G_PACKET_SIZE);
    data.writeBigUInt64LE(0x401000n, 16 * 8);
    data.writeUInt32LE(0x246, 17 * 8);
    const values = decodeRegisterBlock(data);
    expect(values.size).toBe(24);
    expect(values.get('rip')).toBe(0x401000n);
    expect(values.get('eflags')).toBe(0x246n);
    expect(values.get('gs')).toBe(0n);
  });

  it.each([1, 7, 9, G_PACKET_SIZE - 1, G_PACKET_SIZE + 1])('rejects a %d-byte G block not on a register boundary', (n) => {
    expect(() => decodeRegisterBlock(Buffer.alloc(n))).toThrow(RspError);
  });

  it('accepts prefixes on register boundaries', () => {
    expect(decodeRegisterBlock(Buffer.alloc(16)).size).toBe(2);
    expect(decodeRegisterBlock(Buffer.alloc(0)).size).toBe(0);
  });
});

describe('target.xml', () => {
  const xml = targetXml();

  it('is well-formed with a single <target> root', () => {
    expect(checkWellFormed(xml)).toEqual(['target']);
  });

  it('declares amd64 and the gdb features in order', () => {
    expect(xml).toContain('<architecture>i386:x86-64</architecture>');
    expect(xml).toContain('<osabi>none</osabi>');
    const features = [...xml.matchAll(/<feature name="([^"]+)"/g)].map((m) => m[1]);
    expect(features).toEqual(['org.gnu.gdb.i386.core', 'org.gnu.gdb.i386.sse', 'org.gnu.gdb.i386.segments', 'org.josgdb.control']);
  });

  it('lists every register exactly once, with regnum, in table order', () => {
    const regs = [...xml.matchAll(/<reg name="([^"]+)" bitsize="(\d+)" type="([^"]+)" regnum="(\d+)"/g)];
    expect(regs.map((m) => m[1])).toEqual(REGISTERS.map((r) => r.name));
    expect(regs.map((m) => Number(m[4]))).toEqual(REGISTERS.map((r) => r.regnum));
  });

  it('defines every non-predefined type it uses, before use, in the same feature', () => {
    const predefined = new Set(['int', 'int32', 'int64', 'uint64', 'uint128', 'data_ptr', 'code_ptr', 'i387_ext', 'ieee_single', 'ieee_double', 'int8', 'int16']);
    for (const block of xml.split('<feature ').slice(1)) {
      const defined = new Set<string>();
      for (const m of block.matchAll(/<(?:flags|vector|union) id="([^"]+)"|type="([^"]+)"/g)) {
        if (m[1]) defined.add(m[1]);
        else expect([m[2], predefined.has(m[2]!) || defined.has(m[2]!)]).toEqual([m[2], true]);
      }
    }
  });

  it('can omit osabi', () => {
    expect(targetXml({ osabi: null })).not.toContain('osabi');
  });
});

describe('qXferRead', () => {
  it.each<[string, number, number, string]>([
    ['abcdef', 0, 100, 'labcdef'],
    ['abcdef', 0, 3, 'mabc'],
    ['abcdef', 3, 3, 'ldef'],
    ['abcdef', 4, 1, 'me'],
    ['abcdef', 6, 10, 'l'],
    ['abcdef', 60, 10, 'l'],
    ['', 0, 10, 'l'],
  ])('(%j, %d, %d) -> %j', (doc, off, len, reply) => {
    expect(qXferRead(doc, off, len).toString()).toBe(reply);
  });

  it('reassembles the document from chunks', () => {
    const doc = targetXml();
    let got = '';
    for (let off = 0; ; ) {
      const r = qXferRead(doc, off, 97).toString();
      got += r.slice(1);
      off += r.length - 1;
      if (r[0] === 'l') break;
    }
    expect(got).toBe(doc);
  });
});

describe('qRegisterInfo', () => {
  it.each([
    [0, 'name:rax;bitsize:64;offset:0;encoding:uint;format:hex;set:General Purpose Registers;ehframe:0;dwarf:0;'],
    [16, 'name:rip;bitsize:64;offset:128;encoding:uint;format:hex;set:General Purpose Registers;ehframe:16;dwarf:16;generic:pc;'],
    [2, 'name:rcx;bitsize:64;offset:16;encoding:uint;format:hex;set:General Purpose Registers;ehframe:2;dwarf:2;generic:arg1;'],
    [40, 'name:xmm0;bitsize:128;offset:' + registerByName('xmm0')!.offset + ';encoding:vector;format:vector-uint8;set:SSE Registers;ehframe:17;dwarf:17;'],
  ])('%d', (n, reply) => {
    expect(qRegisterInfoReply(n)).toBe(reply);
  });

  it('ends after the last register', () => {
    expect(qRegisterInfoReply(REGISTERS.length)).toBeUndefined();
  });
});
