/**
 * `josgdb symbols`: writes the ELF/DWARF symbol file gdb loads for the kernel
 * image at a given load base, without a target: for reading a crash dump's
 * addresses, checking that a PDB is the right one, or loading symbols by hand.
 * Problems with the PDB are warnings (stderr); the file is written from what
 * could be read, and the exit code is 0. The file holds absolute addresses
 * (ET_EXEC), so gdb takes it as it is: `symbol-file FILE` (or `file FILE`).
 */
import { writeFile } from 'node:fs/promises';
import { errorMessage, JosgdbError } from '../common/errors';
import { loadSymbols, modelStats, type LoadedSymbols } from '../symbols/loader';
import { createLogger, LOG_LEVELS, type LogLevel } from './logging';
import type { OptionTable } from './option-values';
import { createProgress } from './progress';
import type { BuiltCommand } from './settings-help';

interface SymbolsArgs {
  image: string;
  pdb?: string;
  'symbol-path'?: string[];
  'cache-dir'?: string;
  cache: boolean;
  base: string;
  output: string;
  'log-level': LogLevel;
}

const PAGE = 0x1000n;
const U64_LIMIT = 1n << 64n;

/** A load base: hex (0x...) or decimal, page-aligned, below 2^64. */
export function parseLoadBase(text: string): bigint {
  const t = text.trim().replace(/_/g, '');
  let value: bigint | undefined;
  if (/^0x[0-9a-f]+$/i.test(t) || /^[0-9]+$/.test(t)) value = BigInt(t);
  if (value === undefined || value >= U64_LIMIT) {
    throw new JosgdbError('BAD_ARGUMENT', `--base ${text}: give the image's load address as hex (0x7E00000) or decimal, below 2^64`);
  }
  if (value % PAGE !== 0n) {
    throw new JosgdbError('BAD_ARGUMENT', `--base ${text}: images are loaded at page-aligned addresses (a multiple of 0x1000); is a digit missing?`);
  }
  return value;
}

export const symbolsOptions = {
  image: { type: 'string', demandOption: true, describe: 'the kernel image (PE/COFF, e.g. BOOTX64.EFI)' },
  pdb: {
    type: 'string',
    describe: "its PDB (default: the path in the image's debug record, then next to the image, then --symbol-path, then the cache)",
  },
  'symbol-path': {
    type: 'string',
    array: true,
    describe: 'a directory to look for the PDB in, flat (DIR/NAME.pdb) or as a symbol store (DIR/NAME.pdb/GUIDAGE/NAME.pdb); repeatable',
  },
  'cache-dir': { type: 'string', describe: 'PDB cache (default $XDG_CACHE_HOME/josgdb/pdb); a matching PDB found elsewhere is copied there' },
  cache: { type: 'boolean', default: true, describe: 'use the PDB cache (--no-cache: neither read nor write it)' },
  base: { type: 'string', demandOption: true, describe: 'where the image is loaded in the target, e.g. 0x7E00000' },
  output: { alias: 'o', type: 'string', demandOption: true, describe: 'the ELF file to write' },
  'log-level': { choices: LOG_LEVELS, default: 'warn' as LogLevel, describe: 'log detail (debug shows every place searched for the PDB)' },
} as const satisfies OptionTable;

export const symbolsCommand: BuiltCommand<SymbolsArgs> = {
  command: 'symbols',
  describe: 'write the ELF/DWARF symbol file for gdb from the kernel image and its PDB',
  builder: (y) =>
    y
      .options(symbolsOptions)
      .example('$0 symbols --image BOOTX64.EFI --base 0x7E00000 -o kernel.debug', 'then in gdb: symbol-file kernel.debug')
      .example('$0 symbols --image BOOTX64.EFI --symbol-path ~/symbols --base 0x7E00000 -o kernel.debug', 'PDB kept in a symbol store'),
  handler: async (args) => {
    const loadBase = parseLoadBase(args.base);
    const progress = createProgress();
    const log = createLogger(args['log-level'], { progress });
    progress.start(`reading ${args.image} and its PDB`);
    let loaded: LoadedSymbols;
    try {
      loaded = await loadSymbols({
        image: args.image,
        ...(args.pdb !== undefined ? { pdb: args.pdb } : {}),
        symbolPath: args['symbol-path'] ?? [],
        ...(args['cache-dir'] !== undefined ? { cacheDir: args['cache-dir'] } : {}),
        cache: args.cache,
        loadBase,
        log,
      });
    } finally {
      progress.done();
    }
    for (const w of loaded.warnings) process.stderr.write(`josgdb: warning: ${w}\n`);
    progress.start(`writing the symbol file ${args.output}`);
    try {
      await writeFile(args.output, loaded.debugElf(loadBase));
    } catch (e) {
      throw new JosgdbError('BAD_ARGUMENT', `cannot write the symbol file ${args.output}: ${errorMessage(e)}; check that its directory exists and is writable, or pass another -o FILE`);
    } finally {
      progress.done();
    }
    const stats = modelStats(loaded.model);
    const from = loaded.pdbPath ? `PDB ${loaded.pdbPath}` : 'the image alone, no PDB';
    process.stdout.write(
      `${loaded.imageName} at 0x${loadBase.toString(16)}: ${stats.functions} functions, ${stats.lines} line rows, ` +
        `${stats.dataSymbols} data symbols (from ${from}) -> ${args.output}; in gdb: symbol-file ${args.output}\n`,
    );
  },
};
