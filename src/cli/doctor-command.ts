/**
 * `josgdb doctor`: checks what a debugging session needs, one line per check,
 * each problem with the command that fixes it. Run it first when something is
 * off. The program options exist so a check can be pointed elsewhere (another
 * gdb, a QEMU built from source), and so the tests can make each check fail.
 */
import { formatCheck, type CheckResult } from '../doctor/check-result';
import { checkImage, checkTarget } from '../doctor/session';
import { checkBuildTool, checkGdb, checkLldb, checkOvmf, checkQemu } from '../doctor/tools';
import { ExitCode } from './exit-codes';
import type { OptionTable } from './option-values';
import type { BuiltCommand } from './settings-help';

interface DoctorArgs {
  gdb: string;
  lldb: string;
  qemu: string;
  ovmf?: string;
  clang: string;
  'lld-link': string;
  'llvm-pdbutil': string;
  target?: string;
  'target-timeout': number;
  image?: string;
  pdb?: string;
}

export async function runDoctor(args: DoctorArgs): Promise<CheckResult[]> {
  const results: CheckResult[] = [
    checkGdb(args.gdb),
    checkLldb(args.lldb),
    checkQemu(args.qemu),
    checkOvmf(args.ovmf),
    checkBuildTool(args.clang, { name: 'clang', debianPackage: 'clang', role: 'compiles the image with CodeView debug info', optional: false }),
    checkBuildTool(args['lld-link'], { name: 'lld-link', debianPackage: 'lld', role: 'links the image and writes its PDB', optional: false }),
    checkBuildTool(args['llvm-pdbutil'], { name: 'llvm-pdbutil', debianPackage: 'llvm', role: 'inspects PDBs by hand', optional: true }),
  ];
  if (args.target !== undefined) results.push(await checkTarget(args.target, args['target-timeout']));
  if (args.image !== undefined) {
    results.push(...(await checkImage(args.image, args.pdb)));
  } else if (args.pdb !== undefined) {
    // Not a yargs `implies`: a top-level "pdb" in the config file is meant for
    // serve (which reads the image from target memory) and reaches doctor too;
    // doctor must still run then, and say why the PDB went unchecked.
    results.push({
      name: 'pdb',
      status: 'note',
      detail: `${args.pdb} is not checked: a PDB is checked against the image it was built with, and no --image is given`,
      fix: 'add --image FILE (the .EFI linked with this PDB) to check both',
    });
  }
  return results;
}

export const doctorOptions = {
  target: { type: 'string', describe: 'also check that this link opens (as for serve; nothing is sent), e.g. tcp:127.0.0.1:5555' },
  'target-timeout': { type: 'number', default: 2000, describe: 'milliseconds to wait for the target link to open' },
  image: { type: 'string', describe: 'also check that this kernel image parses and its PDB matches it' },
  pdb: { type: 'string', describe: "the image's PDB, checked with --image (default: searched for as serve does)" },
  gdb: { type: 'string', default: 'gdb', describe: 'the gdb to check' },
  lldb: { type: 'string', default: 'lldb', describe: 'the lldb to check' },
  qemu: { type: 'string', default: 'qemu-system-x86_64', describe: 'the QEMU to check' },
  ovmf: { type: 'string', describe: 'the OVMF firmware file to check (default: where Debian and Fedora install it)' },
  clang: { type: 'string', default: 'clang', describe: 'the clang to check' },
  'lld-link': { type: 'string', default: 'lld-link', describe: 'the lld-link to check' },
  'llvm-pdbutil': { type: 'string', default: 'llvm-pdbutil', describe: 'the llvm-pdbutil to check' },
} as const satisfies OptionTable;

export const doctorCommand: BuiltCommand<DoctorArgs> = {
  command: 'doctor',
  describe: 'check that gdb, lldb, QEMU, OVMF and the toolchain are installed, and optionally the target link and the image with its PDB',
  builder: (y) =>
    y
      .options(doctorOptions)
      .example('$0 doctor', 'check the host')
      .example('$0 doctor --target tcp:127.0.0.1:5555 --image build/BOOTX64.EFI', 'also check the VM link and the image with its PDB'),
  handler: async (args) => {
    const results = await runDoctor(args);
    for (const result of results) process.stdout.write(`${formatCheck(result)}\n`);
    const problems = results.filter((r) => r.status === 'problem').length;
    process.stdout.write(problems === 0 ? 'all checks passed\n' : `${problems} problem${problems === 1 ? '' : 's'} found\n`);
    // exitCode, not exit(): stdout is flushed before the process ends.
    process.exitCode = problems === 0 ? ExitCode.OK : ExitCode.FAILURE;
  },
};
