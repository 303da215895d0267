/**
 * Regression tests without QEMU: sessions of stub-uefi recorded by `make
 * recordings` (test/recordings/NAME.josrec, NAME.gdb, NAME.out) are replayed by
 * the real bridge to a new gdb running the same commands. The bridge must ask
 * the recorded target the same things and answer gdb the same way (no
 * divergence), and gdb must print what it printed when recording.
 */
import * as fs from 'fs';
import * as path from 'path';
import pino from 'pino';
import { main } from '../src/cli/main';
import { ExitCode } from '../src/cli/exit-codes';
import { freePort } from '../src/demo/qemu';
import { readRecordingFile } from '../src/recording/format';
import { describeDivergence } from '../src/replay/divergence';
import { startReplay } from '../src/replay/replay';
import { recordedConnections } from '../src/replay/rsp-check';
import { gdbInstalled, runGdb } from './support/gdb';

const DIR = path.join(__dirname, 'recordings');
const names = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith('.josrec'))
  .map((f) => f.slice(0, -'.josrec'.length))
  .sort();
const commandsOf = (name: string) => fs.readFileSync(path.join(DIR, `${name}.gdb`), 'utf8').split('\n').filter(Boolean);

describe('replaying the recorded stub sessions (no QEMU)', () => {
  beforeAll(() => {
    expect(gdbInstalled()).toBe(true);
    expect(names).toEqual(['stub-breakpoint-continue', 'stub-compat-josx64', 'stub-step-and-memory']);
  });

  it.each(names)('%s: same gdb output, no divergence', async (name) => {
    const recording = readRecordingFile(path.join(DIR, `${name}.josrec`));
    expect(recording.complete).toBe(true);
    expect(fs.statSync(path.join(DIR, `${name}.josrec`)).size).toBeLessThan(32 * 1024);
    const replay = await startReplay({
      recording,
      listenHost: '127.0.0.1',
      listenPort: 0,
      log: pino({ level: (process.env.JOSGDB_TEST_LOG as pino.Level | undefined) ?? 'silent' }, pino.destination(2)),
    });
    try {
      const t0 = Date.now();
      const { output } = await runGdb(replay.port, commandsOf(name), 30_000);
      const result = await replay.done;
      expect(result.divergence && describeDivergence(result.divergence)).toBeUndefined();
      expect(output).toBe(fs.readFileSync(path.join(DIR, `${name}.out`), 'utf8'));
      expect(Date.now() - t0).toBeLessThan(10_000);
    } finally {
      await replay.close();
    }
  });

  it('josgdb replay (the command) reports a changed session at the packet that differs, exit code 7', async () => {
    const name = 'stub-step-and-memory';
    const file = path.join(DIR, `${name}.josrec`);
    const recorded = recordedConnections(readRecordingFile(file).events)[0].fromGdb.map((p) => p.text);
    // One stepi fewer: gdb's packet after the first step differs from the recording.
    const commands = commandsOf(name);
    const changed = [...commands];
    changed.splice(commands.indexOf('stepi'), 1);
    const steps = recorded.map((p, i) => [p, i] as const).filter(([p]) => /^(vCont;s|s$)/.test(p));
    expect(steps.length).toBe(2);
    const secondStep = steps[1][1];

    const port = await freePort();
    const printed: string[] = [];
    const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    const saved = process.exitCode;
    try {
      const replaying = main(['node', 'josgdb', 'replay', file, '--listen', `127.0.0.1:${port}`, '--log-level', 'silent']);
      for (let i = 0; i < 100 && !printed.join('').includes('waiting for gdb'); i++) await new Promise((r) => setTimeout(r, 50));
      await runGdb(port, changed, 30_000);
      await replaying;
      expect(process.exitCode).toBe(ExitCode.REPLAY_DIVERGED);
    } finally {
      write.mockRestore();
      process.exitCode = saved;
    }
    const text = printed.join('');
    expect(text).toContain(`replaying ${file}: recorded by josgdb 0.1.0 on `);
    expect(text).toContain(`the session diverges from the recording at gdb packet #${secondStep + 1}`);
    expect(text).toContain(`  expected: ${recorded[secondStep]}\n`);
  });
});
