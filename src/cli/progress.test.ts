/** The status line: drawn and erased on a terminal, never written anywhere else. */
import { createProgress, type StatusStream } from './progress';
import { serveActivity } from './serve-command';

class FakeStream implements StatusStream {
  written = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns = 200,
  ) {}
  write(text: string): boolean {
    this.written += text;
    return true;
  }
}

/** What a terminal would show: each \r\x1b[K erases the current line. */
function screen(written: string): string[] {
  const lines = [''];
  for (const part of written.split(/(\r\x1b\[K|\n)/)) {
    if (part === '\r\x1b[K') lines[lines.length - 1] = '';
    else if (part === '\n') lines.push('');
    else lines[lines.length - 1] += part;
  }
  return lines;
}

test('not a terminal: nothing is written, and log lines pass through unchanged', () => {
  const stream = new FakeStream(false);
  const progress = createProgress(stream);
  progress.start("waiting for the target's handshake on tcp:127.0.0.1:5555");
  progress.detail('BdsDxe: loading Boot0001');
  progress.writeAbove('{"level":40,"msg":"a warning"}\n');
  progress.done();
  expect(stream.written).toBe('{"level":40,"msg":"a warning"}\n');
});

test('on a terminal: the activity, the elapsed seconds and the last line from the target, erased at the end', () => {
  const stream = new FakeStream(true);
  let now = 0;
  const progress = createProgress(stream, { now: () => now });
  progress.start("waiting for the target's handshake on tcp:127.0.0.1:5555");
  expect(screen(stream.written)).toEqual(["josgdb: waiting for the target's handshake on tcp:127.0.0.1:5555"]);
  now = 3500;
  // Firmware consoles colour their text: escape sequences and control bytes do not reach the status line.
  progress.detail('\x1b[1;37mBdsDxe: loading Boot0001\r');
  expect(screen(stream.written)).toEqual([
    "josgdb: waiting for the target's handshake on tcp:127.0.0.1:5555 (3 s); last from the target: BdsDxe: loading Boot0001",
  ]);
  progress.done();
  expect(screen(stream.written)).toEqual(['']);
  // After done() a late detail draws nothing.
  progress.detail('late');
  expect(screen(stream.written)).toEqual(['']);
});

test('on a terminal: a log line erases the status line, and the status line comes back below it', () => {
  const stream = new FakeStream(true);
  const progress = createProgress(stream);
  progress.start('reading BOOTX64.EFI and its PDB');
  progress.writeAbove('WARN: the PDB does not match\n');
  expect(screen(stream.written)).toEqual(['WARN: the PDB does not match', 'josgdb: reading BOOTX64.EFI and its PDB']);
  progress.done();
  expect(screen(stream.written)).toEqual(['WARN: the PDB does not match', '']);
});

test('on a terminal: a line wider than the terminal is cut, so erasing it erases all of it', () => {
  const stream = new FakeStream(true, 40);
  const progress = createProgress(stream);
  progress.start('waiting for the target on a very long link description indeed');
  const [line] = screen(stream.written);
  expect(line!.length).toBeLessThan(40);
  expect(line).toMatch(/\.\.\.$/);
  progress.done();
});

test('on a terminal: the elapsed time is redrawn by itself while waiting', async () => {
  const stream = new FakeStream(true);
  let now = 0;
  const progress = createProgress(stream, { now: () => now, refreshMs: 10 });
  progress.start('waiting');
  now = 2000;
  await new Promise((resolve) => setTimeout(resolve, 50));
  expect(screen(stream.written)).toEqual(['josgdb: waiting (2 s)']);
  progress.done();
  const after = stream.written;
  await new Promise((resolve) => setTimeout(resolve, 30));
  expect(stream.written).toBe(after);
});

test("serve's status line names what each step of the start waits on, and ends when gdb can connect", () => {
  const target = 'tcp:127.0.0.1:5555';
  expect(serveActivity('link', { target })).toBe('opening the target link tcp:127.0.0.1:5555');
  expect(serveActivity('handshake', { target })).toBe("waiting for the target's handshake on tcp:127.0.0.1:5555");
  expect(serveActivity('attach', { target })).toBe('attaching to the kernel on tcp:127.0.0.1:5555');
  expect(serveActivity('symbols', { target, image: 'k.efi' })).toBe('reading the symbols (k.efi)');
  expect(serveActivity('symbols', { target, image: 'k.efi', pdb: 'k.pdb' })).toBe('reading the symbols (k.efi, k.pdb)');
  // --pdb alone: the image comes out of target memory, over the link, which is the slow part.
  expect(serveActivity('symbols', { target, pdb: 'k.pdb' })).toBe('reading the symbols (the image from target memory, k.pdb)');
  expect(serveActivity('listening', { target })).toBeUndefined();
});
