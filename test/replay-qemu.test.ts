/**
 * The whole path as a user runs it: stub-uefi in QEMU, reached through a pty
 * standing in for a null-modem cable (serial device at 115200 baud, throttled
 * to that rate), `josgdb serve --record`, a gdb session; then `josgdb replay`
 * of that recording to a new gdb with the same commands: identical output, and
 * the replay says the session matched.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../src/cli/main';
import { freePort, launchQemu, type QemuInstance } from '../src/demo/qemu';
import { readRecordingFile } from '../src/recording/format';
import { gdbInstalled, runGdb } from './support/gdb';
import { ptyCableTo, type PtyCable } from './support/pty-cable';
import { STUB_EFI } from './support/stub';

const SESSION = ['info registers rip', 'x/8xb $pc', 'stepi', 'stepi', 'info registers rip', 'x/2xg $sp', 'detach'];

/** gdb, retried while josgdb is not listening yet (a refused connection reaches nobody, so nothing is recorded). */
async function gdbWhenListening(port: number, commands: string[]): Promise<string> {
  for (let i = 0; ; i++) {
    const { output } = await runGdb(port, commands, 60_000);
    if (!/Connection refused/.test(output) || i > 200) return output;
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function captureStdout<T>(run: () => Promise<T>): Promise<{ value: T; text: string }> {
  const printed: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  });
  try {
    return { value: await run(), text: printed.join('') };
  } finally {
    spy.mockRestore();
  }
}

describe('record over a serial device (pty to QEMU) and replay with josgdb replay', () => {
  let qemu: QemuInstance;
  let cable: PtyCable;
  let dir: string;

  beforeAll(async () => {
    expect(gdbInstalled()).toBe(true);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-replay-qemu-'));
    qemu = await launchQemu({ efi: STUB_EFI });
    cable = await ptyCableTo(qemu.serialPort);
  });

  afterAll(async () => {
    cable?.close();
    await qemu?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records a session through serve --record, and replays it to a new gdb with identical output', async () => {
    const file = path.join(dir, 'session.josrec');
    const port = await freePort();
    const serving = main([
      'node', 'josgdb', 'serve',
      '--target', `serial:${cable.path}:115200,8N1`,
      '--throttle', '115200',
      '--listen', `127.0.0.1:${port}`,
      '--record', file,
      '--state-file', path.join(dir, 'state.json'),
      '--log-level', 'silent',
    ]);
    const recordedOutput = await gdbWhenListening(port, SESSION);
    expect(recordedOutput).toContain('[Inferior 1 (Remote target) detached]');
    expect(recordedOutput).toMatch(/rip\s+0x[0-9a-f]+/);
    await new Promise((r) => setTimeout(r, 500));
    process.emit('SIGINT');
    await serving;

    const rec = readRecordingFile(file);
    expect(rec.complete).toBe(true);
    expect(rec.header.options).toMatchObject({ target: `serial:${cable.path}:115200,8N1`, throttle: '115200' });
    expect(rec.events.find((e) => 'event' in e && e.event === 'open')).toMatchObject({
      description: `throttled to 115200 baud: ${cable.path} at 115200 baud`,
    });
    expect(fs.statSync(file).size).toBeLessThan(32 * 1024);

    const replayPort = await freePort();
    const { text, value: output } = await captureStdout(async () => {
      const replaying = main(['node', 'josgdb', 'replay', file, '--listen', `127.0.0.1:${replayPort}`, '--log-level', 'silent']);
      const out = await gdbWhenListening(replayPort, SESSION);
      await replaying;
      return out;
    });
    expect(output).toBe(recordedOutput);
    expect(text).toContain('the session matched the recording');
    expect(process.exitCode ?? 0).toBe(0);
  }, 180_000);
});
