/**
 * `monitor` commands (gdb's qRcmd): what a kernel developer wants beside the
 * registers gdb knows: control registers, CPUID, MSRs, page-table walks, the
 * breakpoint lists on both sides, and the log level, without restarting anything.
 */
import { hex } from '../common/bytes';
import { errorMessage } from '../common/errors';
import { codeLookup } from '../unwind';
import { backtrace, formatBacktrace } from './backtrace';
import { disassemble } from './instruction';
import { walkIsPresent } from './memory';
import type { Session } from './session';
import type { SymbolLookup } from './symbol-lookup';

/** The image files as `monitor lldb` names them. */
export interface MonitorImage {
  /** 'BOOTX64.EFI' */
  name: string;
  /** The image file on this host; undefined when the bridge read the image from target memory. */
  path?: string;
  pdbPath?: string;
  /**
   * The base the image file was linked for (its optional header), which lldb's
   * slide is counted from. Undefined for an image read from memory: the firmware
   * rewrites ImageBase when it loads the image.
   */
  linkedBase?: bigint;
  /** Section names and RVAs, for loading section by section when the slide is unknown. */
  sections: readonly { name: string; rva: number }[];
}

export interface MonitorContext {
  session: Session;
  linkDescription: string;
  setLogLevel(level: string): boolean;
  /** Absent when no symbols are loaded: sym/addr say so, disas shows bare addresses. */
  symbols?: SymbolLookup;
  /** Absent when no symbols are loaded: `monitor lldb` then says how to load them. */
  image?: MonitorImage;
}

const NO_SYMBOLS = 'no symbols are loaded (start josgdb serve with --image/--pdb, or put the PDB where the image says)';

/** An address as hex, or a symbol name when symbols are loaded. */
function parseLocation(ctx: MonitorContext, text: string | undefined, what: string): bigint {
  if (text !== undefined && ctx.symbols && !/^(0x)?[0-9a-f]+$/i.test(text)) {
    const hits = ctx.symbols.addressOf(text);
    if (hits.length === 0) throw new Error(`no symbol "${text}"`);
    return hits[0]!.address;
  }
  return parseNumber(text, what);
}

interface MonitorCommand {
  name: string;
  usage: string;
  help: string;
  run(ctx: MonitorContext, args: string[]): Promise<string>;
}

/** Numbers are hexadecimal, with or without 0x, as in most kernel debuggers. */
function parseNumber(text: string | undefined, what: string): bigint {
  if (text === undefined) throw new Error(`missing ${what}`);
  const digits = text.toLowerCase().replace(/^0x/, '');
  if (!/^[0-9a-f]{1,16}$/.test(digits)) throw new Error(`${what} "${text}" is not a hexadecimal number`);
  return BigInt('0x' + digits);
}

const u64 = (v: bigint) => hex(v, 16);

const COMMANDS: MonitorCommand[] = [
  {
    name: 'help',
    usage: 'help',
    help: 'list the monitor commands',
    async run() {
      return COMMANDS.map((c) => `monitor ${c.usage.padEnd(22)} ${c.help}`).join('\n') + '\n';
    },
  },
  {
    name: 'info',
    usage: 'info',
    help: 'kernel, features and link',
    async run(ctx) {
      const t = ctx.session.target;
      const i = t.info;
      const lines = [
        `target:      ${t.description}`,
        `link:        ${ctx.linkDescription}`,
        `version:     ${i.version}`,
        `image base:  ${hex(i.imageBase)}`,
        `entry point: ${hex(i.entryPoint)}`,
      ];
      if (i.processors !== undefined) lines.push(`processors:  ${i.processors}`);
      if (i.memory !== undefined) lines.push(`memory:      ${i.memory} bytes`);
      if (i.vendor) lines.push(`vendor:      ${i.vendor}`);
      if (i.hypervisor) lines.push(`hypervisor:  ${i.hypervisor}`);
      lines.push(`features:    ${t.features.size ? [...t.features].join(' ') : '(none: base josx64 protocol)'}`);
      lines.push(`state:       ${ctx.session.status}`);
      return lines.join('\n') + '\n';
    },
  },
  {
    name: 'regs',
    usage: 'regs',
    help: 'all registers of the stop, control registers included',
    async run(ctx) {
      const values = await ctx.session.readExtendedRegisters();
      const out: string[] = [];
      for (const [name, v] of values) {
        if (typeof v === 'bigint') out.push(`${name.padEnd(8)} ${u64(v)}`);
      }
      return out.join('\n') + '\n';
    },
  },
  {
    name: 'cpuid',
    usage: 'cpuid LEAF [SUBLEAF]',
    help: 'run CPUID on the target',
    async run(ctx, args) {
      const leaf = Number(parseNumber(args[0], 'LEAF'));
      const sub = args[1] === undefined ? 0 : Number(parseNumber(args[1], 'SUBLEAF'));
      const r = await ctx.session.target.cpuid(leaf, sub);
      const h = (v: number) => hex(v >>> 0, 8);
      return `cpuid ${hex(leaf)}.${hex(sub)}: eax=${h(r.eax)} ebx=${h(r.ebx)} ecx=${h(r.ecx)} edx=${h(r.edx)}\n`;
    },
  },
  {
    name: 'rdmsr',
    usage: 'rdmsr MSR',
    help: 'read a model-specific register',
    async run(ctx, args) {
      const msr = Number(parseNumber(args[0], 'MSR'));
      return `msr ${hex(msr)} = ${u64(await ctx.session.target.rdmsr(msr))}\n`;
    },
  },
  {
    name: 'pt',
    usage: 'pt ADDRESS',
    help: 'walk the page tables for an address',
    async run(ctx, args) {
      const address = parseNumber(args[0], 'ADDRESS');
      const w = await ctx.session.target.pageWalk(address);
      return [
        `page walk for ${u64(address)}:`,
        `  PML4E ${u64(w.pml4e)}`,
        `  PDPTE ${u64(w.pdpte)}${w.pdpte & 0x80n ? ' (1 GiB page)' : ''}`,
        `  PDE   ${u64(w.pde)}${w.pde & 0x80n && !(w.pdpte & 0x80n) ? ' (2 MiB page)' : ''}`,
        `  PTE   ${u64(w.pte)}`,
        `  ${walkIsPresent(w) ? 'present' : 'NOT present'}`,
      ].join('\n') + '\n';
    },
  },
  {
    name: 'breakpoints',
    usage: 'breakpoints',
    help: "gdb's breakpoints and what the kernel holds",
    async run(ctx) {
      const s = ctx.session;
      const kernel = s.kernelBreakpoints.snapshot();
      const lines = [
        `gdb:    ${s.breakpoints.list().map((a) => hex(a)).join(' ') || '(none)'}`,
        `kernel: ${kernel === 'unknown' ? '(unknown until the next resume clears it)' : kernel.map((a) => hex(a)).join(' ') || '(none)'}`,
      ];
      s.hwSlots.forEach((slot, i) => {
        if (slot) lines.push(`dr${i}:    ${['', 'hbreak', 'watch', 'rwatch', 'awatch'][slot.type]} ${hex(slot.address)} len ${slot.length}`);
      });
      return lines.join('\n') + '\n';
    },
  },
  {
    name: 'sym',
    usage: 'sym ADDR',
    help: 'the function (and file:line) an address is in',
    async run(ctx, args) {
      if (!ctx.symbols) throw new Error(NO_SYMBOLS);
      const address = parseNumber(args[0], 'address');
      return `${hex(address)}: ${ctx.symbols.describe(address) ?? 'not in any known function'}\n`;
    },
  },
  {
    name: 'addr',
    usage: 'addr NAME',
    help: 'the address of a function or variable',
    async run(ctx, args) {
      if (!ctx.symbols) throw new Error(NO_SYMBOLS);
      const name = args.join(' ');
      if (!name) throw new Error('missing name');
      const hits = ctx.symbols.addressOf(name);
      if (hits.length === 0) return `no symbol "${name}"\n`;
      return hits.map((h) => `${u64(h.address)} ${h.kind.padEnd(8)} ${h.name}`).join('\n') + '\n';
    },
  },
  {
    name: 'disas',
    usage: 'disas [ADDR|NAME [N]]',
    help: 'disassemble N instructions (default 10) at ADDR (default rip)',
    async run(ctx, args) {
      const s = ctx.session;
      const start = args[0] !== undefined ? parseLocation(ctx, args[0], 'address') : (await s.readRegisters()).get('rip');
      if (typeof start !== 'bigint') throw new Error('no rip to start at: give an address');
      const count = args[1] !== undefined ? Number(parseNumber(args[1], 'count')) : 10;
      if (count < 1 || count > 200) throw new Error('count must be between 1 and 0xc8');
      const bytes = await s.readMemory(start, Math.min(count * 15, 4096));
      // Names without their file:line: the listing is dense enough.
      const nameOf = (a: bigint) => ctx.symbols?.describe(a)?.replace(/ \(.*\)$/, '');
      const lines = disassemble(bytes, start, count, nameOf).map((l) => {
        const where = nameOf(l.address);
        const label = where ? ` <${where}>` : '';
        return `${u64(l.address)}${label}:  ${l.bytes.toString('hex').padEnd(20)} ${l.text}`;
      });
      return (lines.length ? lines.join('\n') : `${hex(start)}: (bad)`) + '\n';
    },
  },
  {
    name: 'bt',
    usage: 'bt [N]',
    help: "josgdb's own backtrace (N frames, default 64): each frame with its rsp and how it was found",
    async run(ctx, args) {
      const maxFrames = args[0] !== undefined ? Number(parseNumber(args[0], 'frame count')) : undefined;
      if (maxFrames !== undefined && (maxFrames < 1 || maxFrames > 1024)) throw new Error('frame count must be between 1 and 0x400');
      const walk = await backtrace({ session: ctx.session, code: ctx.symbols?.code ?? codeLookup([]), ...(maxFrames !== undefined ? { maxFrames } : {}) });
      const note = ctx.symbols ? '' : `(${NO_SYMBOLS}: no unwind rules, so no frame beyond the stop)\n`;
      return formatBacktrace(walk, ctx.symbols) + note;
    },
  },
  {
    name: 'lldb',
    usage: 'lldb',
    help: 'the lldb commands that load the image and its PDB at the load base',
    async run(ctx) {
      return lldbSetupCommands(ctx.image, ctx.session.target.info.imageBase);
    },
  },
  {
    name: 'log',
    usage: 'log LEVEL',
    help: 'set the bridge log level (trace debug info warn error)',
    async run(ctx, args) {
      const level = args[0] ?? '';
      if (!ctx.setLogLevel(level)) throw new Error(`unknown log level "${level}"`);
      return `log level is now ${level}\n`;
    },
  },
];

/**
 * What `monitor lldb` prints. josgdb tells lldb where the image is by itself
 * (library list and qFileLoadAddress), but not every setup can use that: the
 * image file may live elsewhere on the debugger's machine, the PDB may not be
 * where the image says (lldb 14 looks only there), or the bridge read the image
 * from target memory. These commands do it by hand, in lldb's own terms.
 */
export function lldbSetupCommands(image: MonitorImage | undefined, loadBase: bigint): string {
  if (!image) return `${NO_SYMBOLS}\nthe image is loaded at ${u64(loadBase)}\n`;
  const quote = (p: string) => (/[\s"']/.test(p) ? JSON.stringify(p) : p);
  const lines = [`# ${image.name} is loaded at ${u64(loadBase)}`];
  if (image.path !== undefined) lines.push(`target create ${quote(image.path)}`);
  else lines.push(`# josgdb read the image from target memory: give lldb your copy of ${image.name}`, `target create ${image.name}`);
  if (image.pdbPath !== undefined) lines.push(`target symbols add ${quote(image.pdbPath)}`);
  if (image.linkedBase !== undefined) {
    // A slide below the link base wraps around 2^64, which lldb takes as a negative slide.
    lines.push(`target modules load --file ${image.name} --slide ${hex(BigInt.asUintN(64, loadBase - image.linkedBase))}`);
  } else {
    const sections = image.sections.map((s) => `${s.name} ${hex(loadBase + BigInt(s.rva))}`).join(' ');
    lines.push(`target modules load --file ${image.name} ${sections}`);
  }
  return lines.join('\n') + '\n';
}

/** Runs one monitor command line; errors become text for the user, never exceptions. */
export async function runMonitorCommand(ctx: MonitorContext, line: string): Promise<string> {
  const [name = 'help', ...args] = line.trim().split(/\s+/).filter(Boolean);
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) return `unknown monitor command "${name}"; try "monitor help"\n`;
  try {
    return await command.run(ctx, args);
  } catch (err) {
    return `monitor ${command.name}: ${errorMessage(err)}\nusage: monitor ${command.usage}\n`;
  }
}
