/**
 * `josgdb demo`: boots stub-uefi in QEMU, starts the bridge, runs a scripted gdb
 * tour and prints what gdb saw; exits non-zero naming the step that did not do
 * what the tour expects. `--interactive` leaves everything running instead and
 * prints the gdb command to attach. Every process it starts is stopped on exit.
 */
import { startBridge } from '../bridge/bridge';
import { JosgdbError } from '../common/errors';
import { runGdbBatch } from '../demo/gdb-batch';
import { launchQemu } from '../demo/qemu';
import { demoTour } from '../demo/tour';
import { STUB_EFI, STUB_PDB } from '../demo/stub-paths';
import { loadSymbols } from '../symbols/loader';
import { createLogger } from './logging';
import type { OptionTable } from './option-values';
import { createProgress } from './progress';
import type { BuiltCommand } from './settings-help';

interface DemoArgs {
  interactive: boolean;
  compat: boolean;
  port: number;
  'handshake-timeout': number;
}

const hex = (v: bigint) => '0x' + v.toString(16);

export const demoOptions = {
  interactive: { type: 'boolean', default: false, describe: 'leave QEMU and the bridge running and print the gdb command' },
  compat: { type: 'boolean', default: false, describe: 'boot the stub in josx64 compatibility mode (flaws on, no extensions)' },
  port: { type: 'number', default: 1234, describe: 'gdb port for --interactive (the tour uses a free one)' },
  // As serve's: the handshake timeout message names this option, so the demo has it too.
  'handshake-timeout': { type: 'number', default: 120, describe: 'seconds to wait for the stub to answer the handshake (OVMF boots first)' },
} as const satisfies OptionTable;

export const demoCommand: BuiltCommand<DemoArgs> = {
  command: 'demo',
  describe: 'boot the stub-uefi demo kernel in QEMU and run a scripted gdb tour',
  builder: (y) =>
    y
      .options(demoOptions)
      .example('$0 demo', 'the scripted tour (what make demo runs)')
      .example('$0 demo --interactive', 'then: gdb -ex "target remote 127.0.0.1:1234"'),
  handler: async (args) => {
    const symbols = await loadSymbols({ image: STUB_EFI, pdb: STUB_PDB, cache: false });
    if (!symbols.index) throw new JosgdbError('SYMBOL_MISMATCH', `the stub's PDB is unusable: ${symbols.warnings.join(' ')} (rebuild with make -C stub-uefi)`);
    const index = symbols.index;
    process.stderr.write('josgdb demo: booting stub-uefi in QEMU with OVMF...\n');
    const qemu = await launchQemu({ efi: STUB_EFI, compat: args.compat });
    const progress = createProgress();
    const log = createLogger(args.interactive ? 'info' : 'warn', { progress });
    const cleanup = async () => {
      await qemu.stop();
    };
    process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
    try {
      const bridge = await startBridge({
        target: qemu.targetSpec,
        listenHost: '127.0.0.1',
        listenPort: args.interactive ? args.port : 0,
        log,
        handshakeTimeoutMs: args['handshake-timeout'] * 1000,
        onPhase: (phase) => {
          if (phase === 'handshake') progress.start(`waiting for the stub's handshake on ${qemu.targetSpec} (OVMF boots first)`);
          else if (phase === 'symbols') progress.start(`reading the stub's symbols (${STUB_PDB})`);
          else if (phase === 'listening') progress.done();
        },
        symbols: { image: STUB_EFI, pdb: STUB_PDB },
        onNoise: (line) => progress.detail(line),
      }).finally(() => progress.done());
      await bridge.session.waitForStop();
      const base = bridge.session.target.info.imageBase;
      const at = (name: string) => {
        const hit = index.lookupName(name)[0];
        if (hit === undefined) throw new JosgdbError('SYMBOL_MISMATCH', `the stub's PDB has no symbol ${name}: rebuild the stub and its PDB together with make -C stub-uefi`);
        return base + BigInt(hit.rva);
      };
      if (args.interactive) {
        process.stdout.write(
          `stub-uefi is stopped at main (image at ${hex(base)}). Attach with:\n\n  gdb -ex "target remote 127.0.0.1:${bridge.port}"\n\n` +
            `demo_b is at ${hex(at('demo_b'))}, g_counter at ${hex(at('g_counter'))}. Ctrl-C here stops QEMU and the bridge.\n`,
        );
        await new Promise<void>((resolve) => process.once('SIGINT', resolve));
        await bridge.close();
        return;
      }
      const steps = demoTour({ hardwareWatchpoints: bridge.session.target.setHwBreakpoint !== undefined });
      const { output: transcript } = await runGdbBatch(bridge.port, steps.map((s) => s.command), { echo: true, timeoutMs: 600_000 });
      process.stdout.write(transcript);
      await bridge.server.whenDisconnected();
      await bridge.close();
      const failed = steps.find((s) => s.expect && !s.expect.test(transcript));
      if (failed) {
        throw new JosgdbError('PROTOCOL', `demo step "${failed.command}" did not show what it should (${failed.what}); gdb's transcript is above, and josgdb demo --interactive lets you try the step by hand`);
      }
      process.stdout.write('\njosgdb demo: every step did what the tour expects.\n');
    } finally {
      await cleanup();
    }
  },
};
