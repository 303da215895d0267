/**
 * The amd64 register table: the one place that says which registers exist, in
 * which order, with which size and type. `target.xml`, the `g`/`G` block layout,
 * `p`/`P` numbering, expedited stop-reply registers and lldb's `qRegisterInfo`
 * are all derived from `REGISTERS`, so they cannot disagree.
 *
 * Numbering and types follow gdb's own features/i386/64bit-core.xml,
 * 64bit-sse.xml and 64bit-segments.xml, so stock gdb recognises the core/sse/
 * segments features and sets up its amd64 architecture from them. Our kernel
 * registers live in a custom feature, `org.josgdb.control`, which gdb shows as
 * plain registers (`info registers system`, `p $cr3`).
 *
 * The `g` reply deliberately carries only the general set (rax..gs, regnums
 * 0-23, 164 bytes). gdb's remote.c (process_g_packet) treats every register
 * whose offset lies beyond a short `g` reply as "not in the g packet" and
 * fetches it on demand with `p`; verified against real gdb in
 * gdb-interop.test.ts. That keeps every stop cheap (x87/SSE/control registers
 * cost a kernel round trip only when someone looks at them) and means we never
 * invent values: a register the target cannot supply is sent as `xx..`, gdb's
 * "unavailable" marker, in `g` and in `p` replies alike.
 */
import { malformed } from './errors';
import { decodeLE, encodeLE, hexEncode, unavailableHex } from './hex';

export type RegisterFeature =
  | 'org.gnu.gdb.i386.core'
  | 'org.gnu.gdb.i386.sse'
  | 'org.gnu.gdb.i386.segments'
  | 'org.josgdb.control';

/** Registers up to 64 bits are bigint; st0-7 (80 bits) and xmm (128 bits) may be either. */
export type RegisterValue = bigint | Buffer;

export interface LldbRegisterInfo {
  set: string;
  encoding: 'uint' | 'sint' | 'ieee754' | 'vector';
  format: 'hex' | 'decimal' | 'float' | 'vector-uint8' | 'binary';
  dwarf?: number;
  generic?: 'pc' | 'sp' | 'fp' | 'flags' | 'arg1' | 'arg2' | 'arg3' | 'arg4';
}

export interface RegisterDef {
  readonly name: string;
  /** gdb's remote register number: `p`/`P` argument, T-packet key, `regnum=` in target.xml. */
  readonly regnum: number;
  readonly bitsize: number;
  /** bitsize / 8 */
  readonly size: number;
  /** target.xml type (predefined or defined in the feature). */
  readonly type: string;
  readonly group?: string;
  readonly feature: RegisterFeature;
  /** Part of the (short) `g`/`G` block. */
  readonly inGPacket: boolean;
  /** Byte offset when all registers are laid out in regnum order (lldb `offset:`). */
  readonly offset: number;
  readonly lldb: LldbRegisterInfo;
}

// --- Types defined inside features (copied in shape from gdb's own XML) ---

type FlagField = readonly [name: string, start: number, end: number];
type TypeDef =
  | { kind: 'flags'; id: string; size: number; fields: readonly FlagField[] }
  | { kind: 'vector'; id: string; type: string; count: number }
  | { kind: 'union'; id: string; fields: readonly (readonly [string, string])[] };

const bit = (name: string, n: number): FlagField => [name, n, n];

const FEATURE_TYPES: Record<RegisterFeature, readonly TypeDef[]> = {
  'org.gnu.gdb.i386.core': [
    {
      kind: 'flags',
      id: 'i386_eflags',
      size: 4,
      fields: [
        bit('CF', 0), bit('', 1), bit('PF', 2), bit('AF', 4), bit('ZF', 6), bit('SF', 7), bit('TF', 8),
        bit('IF', 9), bit('DF', 10), bit('OF', 11), bit('NT', 14), bit('RF', 16), bit('VM', 17),
        bit('AC', 18), bit('VIF', 19), bit('VIP', 20), bit('ID', 21),
      ],
    },
  ],
  'org.gnu.gdb.i386.sse': [
    { kind: 'vector', id: 'v4f', type: 'ieee_single', count: 4 },
    { kind: 'vector', id: 'v2d', type: 'ieee_double', count: 2 },
    { kind: 'vector', id: 'v16i8', type: 'int8', count: 16 },
    { kind: 'vector', id: 'v8i16', type: 'int16', count: 8 },
    { kind: 'vector', id: 'v4i32', type: 'int32', count: 4 },
    { kind: 'vector', id: 'v2i64', type: 'int64', count: 2 },
    {
      kind: 'union',
      id: 'vec128',
      fields: [
        ['v4_float', 'v4f'], ['v2_double', 'v2d'], ['v16_int8', 'v16i8'], ['v8_int16', 'v8i16'],
        ['v4_int32', 'v4i32'], ['v2_int64', 'v2i64'], ['uint128', 'uint128'],
      ],
    },
    {
      kind: 'flags',
      id: 'i386_mxcsr',
      size: 4,
      fields: [
        bit('IE', 0), bit('DE', 1), bit('ZE', 2), bit('OE', 3), bit('UE', 4), bit('PE', 5), bit('DAZ', 6),
        bit('IM', 7), bit('DM', 8), bit('ZM', 9), bit('OM', 10), bit('UM', 11), bit('PM', 12), bit('FZ', 15),
      ],
    },
  ],
  'org.gnu.gdb.i386.segments': [],
  'org.josgdb.control': [
    {
      kind: 'flags',
      id: 'josgdb_cr0',
      size: 8,
      fields: [
        bit('PE', 0), bit('MP', 1), bit('EM', 2), bit('TS', 3), bit('ET', 4), bit('NE', 5), bit('WP', 16),
        bit('AM', 18), bit('NW', 29), bit('CD', 30), bit('PG', 31),
      ],
    },
    {
      kind: 'flags',
      id: 'josgdb_cr4',
      size: 8,
      fields: [
        bit('VME', 0), bit('PVI', 1), bit('TSD', 2), bit('DE', 3), bit('PSE', 4), bit('PAE', 5), bit('MCE', 6),
        bit('PGE', 7), bit('PCE', 8), bit('OSFXSR', 9), bit('OSXMMEXCPT', 10), bit('UMIP', 11), bit('LA57', 12),
        bit('VMXE', 13), bit('SMXE', 14), bit('FSGSBASE', 16), bit('PCIDE', 17), bit('OSXSAVE', 18),
        bit('SMEP', 20), bit('SMAP', 21), bit('PKE', 22), bit('CET', 23), bit('PKS', 24),
      ],
    },
    {
      kind: 'flags',
      id: 'josgdb_dr6',
      size: 8,
      fields: [bit('B0', 0), bit('B1', 1), bit('B2', 2), bit('B3', 3), bit('BD', 13), bit('BS', 14), bit('BT', 15)],
    },
    {
      kind: 'flags',
      id: 'josgdb_dr7',
      size: 8,
      fields: [
        bit('L0', 0), bit('G0', 1), bit('L1', 2), bit('G1', 3), bit('L2', 4), bit('G2', 5), bit('L3', 6),
        bit('G3', 7), bit('LE', 8), bit('GE', 9), bit('GD', 13),
        ['RW0', 16, 17], ['LEN0', 18, 19], ['RW1', 20, 21], ['LEN1', 22, 23],
        ['RW2', 24, 25], ['LEN2', 26, 27], ['RW3', 28, 29], ['LEN3', 30, 31],
      ],
    },
  ],
};

// --- The table ---

type Row = {
  name: string;
  bitsize: number;
  type: string;
  feature: RegisterFeature;
  group?: string;
  inGPacket?: boolean;
  lldb: LldbRegisterInfo;
};

const GPR = 'General Purpose Registers';
const FPR = 'Floating Point Registers';
const SSE = 'SSE Registers';
const CTRL = 'Control Registers';

const CORE: RegisterFeature = 'org.gnu.gdb.i386.core';
const gpr = (name: string, dwarf: number, type = 'int64', generic?: LldbRegisterInfo['generic']): Row => ({
  name,
  bitsize: 64,
  type,
  feature: CORE,
  inGPacket: true,
  lldb: { set: GPR, encoding: 'uint', format: 'hex', dwarf, ...(generic ? { generic } : {}) },
});
const seg = (name: string, dwarf: number): Row => ({
  name,
  bitsize: 32,
  type: 'int32',
  feature: CORE,
  inGPacket: true,
  lldb: { set: GPR, encoding: 'uint', format: 'hex', dwarf },
});

// lldb's arg1..arg4 follow the Microsoft x64 convention (rcx, rdx, r8, r9): the
// josx64 kernel is a UEFI PE image.
const ROWS: Row[] = [
  gpr('rax', 0),
  gpr('rbx', 3),
  gpr('rcx', 2, 'int64', 'arg1'),
  gpr('rdx', 1, 'int64', 'arg2'),
  gpr('rsi', 4),
  gpr('rdi', 5),
  gpr('rbp', 6, 'data_ptr', 'fp'),
  gpr('rsp', 7, 'data_ptr', 'sp'),
  gpr('r8', 8, 'int64', 'arg3'),
  gpr('r9', 9, 'int64', 'arg4'),
  gpr('r10', 10),
  gpr('r11', 11),
  gpr('r12', 12),
  gpr('r13', 13),
  gpr('r14', 14),
  gpr('r15', 15),
  gpr('rip', 16, 'code_ptr', 'pc'),
  {
    name: 'eflags',
    bitsize: 32,
    type: 'i386_eflags',
    feature: CORE,
    inGPacket: true,
    lldb: { set: GPR, encoding: 'uint', format: 'hex', dwarf: 49, generic: 'flags' },
  },
  seg('cs', 51),
  seg('ss', 52),
  seg('ds', 53),
  seg('es', 50),
  seg('fs', 54),
  seg('gs', 55),
  ...[0, 1, 2, 3, 4, 5, 6, 7].map(
    (i): Row => ({
      name: `st${i}`,
      bitsize: 80,
      type: 'i387_ext',
      feature: CORE,
      lldb: { set: FPR, encoding: 'vector', format: 'vector-uint8', dwarf: 33 + i },
    }),
  ),
  ...(
    [
      ['fctrl', 65],
      ['fstat', 66],
      ['ftag', undefined],
      ['fiseg', undefined],
      ['fioff', undefined],
      ['foseg', undefined],
      ['fooff', undefined],
      ['fop', undefined],
    ] as const
  ).map(
    ([name, dwarf]): Row => ({
      name,
      bitsize: 32,
      type: 'int',
      group: 'float',
      feature: CORE,
      lldb: { set: FPR, encoding: 'uint', format: 'hex', ...(dwarf !== undefined ? { dwarf } : {}) },
    }),
  ),
  ...Array.from(
    { length: 16 },
    (_, i): Row => ({
      name: `xmm${i}`,
      bitsize: 128,
      type: 'vec128',
      feature: 'org.gnu.gdb.i386.sse',
      lldb: { set: SSE, encoding: 'vector', format: 'vector-uint8', dwarf: 17 + i },
    }),
  ),
  {
    name: 'mxcsr',
    bitsize: 32,
    type: 'i386_mxcsr',
    group: 'vector',
    feature: 'org.gnu.gdb.i386.sse',
    lldb: { set: SSE, encoding: 'uint', format: 'hex', dwarf: 64 },
  },
  {
    name: 'fs_base',
    bitsize: 64,
    type: 'int',
    feature: 'org.gnu.gdb.i386.segments',
    lldb: { set: GPR, encoding: 'uint', format: 'hex', dwarf: 58 },
  },
  {
    name: 'gs_base',
    bitsize: 64,
    type: 'int',
    feature: 'org.gnu.gdb.i386.segments',
    lldb: { set: GPR, encoding: 'uint', format: 'hex', dwarf: 59 },
  },
  ...(
    [
      ['cr0', 'josgdb_cr0'],
      ['cr2', 'data_ptr'],
      ['cr3', 'uint64'],
      ['cr4', 'josgdb_cr4'],
      ['cr8', 'uint64'],
      ['dr0', 'data_ptr'],
      ['dr1', 'data_ptr'],
      ['dr2', 'data_ptr'],
      ['dr3', 'data_ptr'],
      ['dr6', 'josgdb_dr6'],
      ['dr7', 'josgdb_dr7'],
    ] as const
  ).map(
    ([name, type]): Row => ({
      name,
      bitsize: 64,
      type,
      group: 'system',
      feature: 'org.josgdb.control',
      lldb: { set: CTRL, encoding: 'uint', format: 'hex' },
    }),
  ),
];

function buildTable(rows: readonly Row[]): readonly RegisterDef[] {
  let offset = 0;
  return rows.map((row, regnum) => {
    const def: RegisterDef = Object.freeze({
      name: row.name,
      regnum,
      bitsize: row.bitsize,
      size: row.bitsize / 8,
      type: row.type,
      ...(row.group !== undefined ? { group: row.group } : {}),
      feature: row.feature,
      inGPacket: row.inGPacket ?? false,
      offset,
      lldb: Object.freeze({ ...row.lldb }),
    });
    offset += def.size;
    return def;
  });
}

/** Every register, indexed by regnum (REGISTERS[n].regnum === n). */
export const REGISTERS: readonly RegisterDef[] = buildTable(ROWS);

/** The registers carried by `g`/`G`, in order (rax..gs). */
export const G_PACKET_REGISTERS: readonly RegisterDef[] = REGISTERS.filter((r) => r.inGPacket);

/** Byte size of the `g` block (164). */
export const G_PACKET_SIZE = G_PACKET_REGISTERS.reduce((n, r) => n + r.size, 0);

/** Registers worth sending in every stop reply (frame, stack, pc), in regnum order. */
export const EXPEDITED_REGISTERS: readonly string[] = ['rbp', 'rsp', 'rip'];

const BY_NAME = new Map(REGISTERS.map((r) => [r.name, r]));

export function registerByNumber(regnum: number): RegisterDef | undefined {
  return REGISTERS[regnum];
}

export function registerByName(name: string): RegisterDef | undefined {
  return BY_NAME.get(name);
}

function requireRegister(name: string): RegisterDef {
  const def = BY_NAME.get(name);
  if (!def) throw new Error(`unknown register '${name}'`);
  return def;
}

// --- Values ---

/**
 * One register's value as `p` reply / `g` slice: little-endian hex, or `xx..`
 * when `value` is undefined (unavailable). A Buffer must be exactly the
 * register's size; a bigint is truncated to it.
 */
export function encodeRegisterValue(reg: RegisterDef, value: RegisterValue | undefined): string {
  if (value === undefined) return unavailableHex(reg.size);
  if (typeof value === 'bigint') return encodeLE(value, reg.size).toString('hex');
  if (value.length !== reg.size) {
    throw new Error(`register ${reg.name}: value is ${value.length} bytes, expected ${reg.size}`);
  }
  return hexEncode(value);
}

/**
 * Raw target-order bytes (from `P` or `G`) -> value: bigint for registers up to
 * 64 bits, a Buffer copy for st0-7 and xmm. Wrong size -> RspError(EINVAL).
 */
export function decodeRegisterValue(reg: RegisterDef, bytes: Uint8Array): RegisterValue {
  if (bytes.length !== reg.size) {
    throw malformed(`register ${reg.name}: got ${bytes.length} bytes, expected ${reg.size}`);
  }
  return reg.bitsize <= 64 ? decodeLE(bytes) : Buffer.from(bytes);
}

/**
 * The `g` reply: the general set (G_PACKET_REGISTERS) in order; registers absent
 * from `values` or mapped to undefined are sent as unavailable (`xx..`).
 * Unknown names in `values` are a programming error and throw.
 */
export function encodeRegisterBlock(values: ReadonlyMap<string, RegisterValue | undefined>, set: 'g' = 'g'): string {
  void set;
  for (const name of values.keys()) requireRegister(name);
  return G_PACKET_REGISTERS.map((r) => encodeRegisterValue(r, values.get(r.name))).join('');
}

/**
 * A `G` payload -> values by name. Registers are taken in regnum order; the data
 * must end on a register boundary (gdb sends exactly the size of our `g` reply).
 */
export function decodeRegisterBlock(data: Uint8Array): Map<string, RegisterValue> {
  const out = new Map<string, RegisterValue>();
  let at = 0;
  for (const reg of REGISTERS) {
    if (at === data.length) break;
    if (at + reg.size > data.length) {
      throw malformed(`G: ${data.length} bytes end inside register ${reg.name}`);
    }
    out.set(reg.name, decodeRegisterValue(reg, data.subarray(at, at + reg.size)));
    at += reg.size;
  }
  if (at !== data.length) throw malformed(`G: ${data.length} bytes is more than all registers`);
  return out;
}

// --- target.xml ---

function xmlAttr(value: string | number): string {
  return String(value).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

function renderType(t: TypeDef): string[] {
  switch (t.kind) {
    case 'flags':
      return [
        `    <flags id="${t.id}" size="${t.size}">`,
        ...t.fields.map(([n, s, e]) => `      <field name="${xmlAttr(n)}" start="${s}" end="${e}"/>`),
        `    </flags>`,
      ];
    case 'vector':
      return [`    <vector id="${t.id}" type="${t.type}" count="${t.count}"/>`];
    case 'union':
      return [
        `    <union id="${t.id}">`,
        ...t.fields.map(([n, ty]) => `      <field name="${xmlAttr(n)}" type="${ty}"/>`),
        `    </union>`,
      ];
  }
}

const FEATURE_ORDER: readonly RegisterFeature[] = [
  'org.gnu.gdb.i386.core',
  'org.gnu.gdb.i386.sse',
  'org.gnu.gdb.i386.segments',
  'org.josgdb.control',
];

export interface TargetXmlOptions {
  /**
   * `<osabi>` element. Default 'none': a bare-metal kernel, so gdb uses its
   * generic amd64 ABI instead of guessing GNU/Linux from the host.
   * Pass null to omit the element.
   */
  osabi?: string | null;
}

/**
 * The complete target description, one self-contained document (no
 * xi:include), every register with an explicit `regnum`.
 */
export function targetXml(opts: TargetXmlOptions = {}): string {
  const osabi = opts.osabi === undefined ? 'none' : opts.osabi;
  const lines = [
    '<?xml version="1.0"?>',
    '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
    '<target version="1.0">',
    '  <architecture>i386:x86-64</architecture>',
  ];
  if (osabi !== null) lines.push(`  <osabi>${xmlAttr(osabi)}</osabi>`);
  for (const feature of FEATURE_ORDER) {
    lines.push(`  <feature name="${feature}">`);
    for (const t of FEATURE_TYPES[feature]) lines.push(...renderType(t));
    for (const r of REGISTERS.filter((reg) => reg.feature === feature)) {
      const group = r.group !== undefined ? ` group="${r.group}"` : '';
      lines.push(`    <reg name="${r.name}" bitsize="${r.bitsize}" type="${r.type}" regnum="${r.regnum}"${group}/>`);
    }
    lines.push('  </feature>');
  }
  lines.push('</target>');
  return lines.join('\n') + '\n';
}

/**
 * A `qXfer:...:read` reply for a document: `m` + chunk when more follows, `l` +
 * chunk for the last piece (`l` alone past the end). Binary-safe; the framing
 * layer escapes `$ # } *`.
 */
export function qXferRead(document: string | Buffer, offset: number, length: number): Buffer {
  const doc = typeof document === 'string' ? Buffer.from(document, 'utf8') : document;
  if (offset >= doc.length) return Buffer.from('l');
  const end = Math.min(doc.length, offset + Math.max(0, length));
  const more = end < doc.length;
  return Buffer.concat([Buffer.from(more ? 'm' : 'l'), doc.subarray(offset, end)]);
}

// --- lldb ---

/**
 * lldb's `qRegisterInfo<n>` reply (`name:rax;bitsize:64;offset:0;...;`), or
 * undefined past the last register (the bridge then replies `E45`, which lldb
 * takes as "no more registers").
 */
export function qRegisterInfoReply(regnum: number): string | undefined {
  const r = REGISTERS[regnum];
  if (!r) return undefined;
  const fields: [string, string | number][] = [
    ['name', r.name],
    ['bitsize', r.bitsize],
    ['offset', r.offset],
    ['encoding', r.lldb.encoding],
    ['format', r.lldb.format],
    ['set', r.lldb.set],
  ];
  if (r.lldb.dwarf !== undefined) fields.push(['ehframe', r.lldb.dwarf], ['dwarf', r.lldb.dwarf]);
  if (r.lldb.generic !== undefined) fields.push(['generic', r.lldb.generic]);
  return fields.map(([k, v]) => `${k}:${v};`).join('');
}
