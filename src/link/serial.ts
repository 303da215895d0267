/**
 * Serial device link (a USB UART, /dev/ttyS0, or a pty such as QEMU's `-serial pty`),
 * 8N1 at the given baud unless told otherwise. josx64 programs COM1 to 38400 baud
 * (divisor 3), so that is the default. Uses the `serialport` package (its native
 * binding ships prebuilt in the npm package); it is loaded only when a serial link
 * is opened. The port is opened exclusively (TIOCEXCL): a second josgdb, minicom or
 * screen on the same device is refused instead of stealing half the bytes; closing
 * the link (or josgdb exiting) releases it.
 */
import * as fs from 'fs';
import { promisify } from 'util';
import type { BindingPortInterface, DarwinPortBinding, LinuxPortBinding } from '@serialport/bindings-cpp';
import type { SerialPort as SerialPortType } from 'serialport';
import { JosgdbError } from '../common/errors';
import type { Link } from './link';
import { BaseLink } from './link';

export const DEFAULT_BAUD = 38400;

/** A rate a UART can be programmed with: a positive whole number. */
export function isBaudRate(baud: number): boolean {
  return Number.isInteger(baud) && baud > 0;
}

/** The line settings besides the baud rate; unset fields mean 8N1 without flow control. */
export interface SerialSettings {
  dataBits?: 5 | 6 | 7 | 8;
  parity?: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits?: 1 | 1.5 | 2;
  flow?: 'none' | 'rtscts' | 'xonxoff';
}

/** The group that owns a device node (dialout on Debian, uucp on Arch), for the permission hint. */
export function deviceGroup(path: string): string | undefined {
  try {
    const gid = fs.statSync(path).gid;
    for (const line of fs.readFileSync('/etc/group', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (Number(id) === gid) return name;
    }
  } catch {
    // no such device, or no /etc/group (Windows)
  }
  return undefined;
}

export function explainSerialError(err: Error, path: string): JosgdbError {
  const m = err.message;
  if (/no such file|ENOENT/i.test(m)) return new JosgdbError('LINK_UNREACHABLE', `no serial device at ${path} (unplugged? for a USB adapter see ls /dev/serial/by-id)`);
  if (/permission denied|EACCES/i.test(m)) {
    const group = deviceGroup(path) ?? 'dialout';
    return new JosgdbError(
      'LINK_UNREACHABLE',
      `permission denied opening ${path}: it belongs to the group "${group}"; join it with "sudo usermod -aG ${group} $USER" and log in again`,
    );
  }
  if (/busy|EBUSY|lock|resource temporarily unavailable|EAGAIN/i.test(m)) {
    return new JosgdbError(
      'LINK_UNREACHABLE',
      `${path} is busy: another program has it open (another josgdb, minicom, screen, ModemManager?); "fuser ${path}" names it`,
    );
  }
  return new JosgdbError('LINK_UNREACHABLE', `cannot open ${path}: ${m}`);
}

class SerialLink extends BaseLink {
  constructor(
    private readonly port: SerialPortType,
    readonly description: string,
  ) {
    super();
    let lastError: Error | undefined;
    port.on('data', (chunk: Buffer) => this.emitData(chunk));
    port.on('error', (err: Error) => {
      lastError = err;
    });
    port.on('close', (err?: Error & { disconnected?: boolean }) => {
      const why = err ?? lastError;
      if (!why) return this.emitClose();
      this.emitClose(
        new JosgdbError(
          'LINK_CLOSED',
          err?.disconnected || /EIO|disconnected|ENXIO|ENODEV/i.test(why.message)
            ? `${description}: the device went away (unplugged?): ${why.message}`
            : `${description} closed: ${why.message}`,
        ),
      );
    });
  }

  write(data: Buffer): void {
    if (this.closed || !this.port.isOpen) throw new JosgdbError('LINK_CLOSED', `${this.description} is closed`);
    this.port.write(data);
  }

  close(): void {
    if (this.closed) return;
    if (this.port.isOpen) this.port.close(() => undefined);
    this.emitClose();
  }
}

/**
 * Makes a read of zero bytes end the port. A tty whose other side hangs up (the
 * master of a pty closed, a USB adapter gone) returns end of file instead of EIO when
 * the hang-up reaches it first; serialport retries such a read forever, so the link
 * would never learn the device went away. serialport opens the device with VMIN=1
 * and O_NONBLOCK, where "no data yet" is EAGAIN, so zero bytes can only mean the
 * hang-up. Windows has its own binding and no such reads.
 */
function endReadsAtHangUp(port: BindingPortInterface): void {
  if (process.platform === 'win32') return;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { unixRead } = require('@serialport/bindings-cpp/dist/unix-read') as typeof import('@serialport/bindings-cpp/dist/unix-read');
  const readAsync = promisify(fs.read);
  const readOrHangUp = (async (fd: number, buffer: Buffer, offset: number, length: number, position: number | null) => {
    const result = await readAsync(fd, buffer, offset, length, position);
    if (result.bytesRead === 0 && length > 0) throw Object.assign(new Error('EIO: end of file, the device hung up'), { code: 'EIO' });
    return result;
  }) as typeof readAsync;
  const unixPort = port as LinuxPortBinding | DarwinPortBinding;
  port.read = (buffer, offset, length) => unixRead({ binding: unixPort, buffer, offset, length, fsReadAsync: readOrHangUp });
}

export function openSerialLink(path: string, baud: number = DEFAULT_BAUD, settings: SerialSettings = {}): Promise<Link> {
  // parseLinkSpec has checked a rate from the user (naming --baud or the spec), so
  // a bad one here is a caller's mistake, not the user's.
  if (!isBaudRate(baud)) {
    return Promise.reject(new Error(`openSerialLink: baud rate ${baud} is not a positive whole number`));
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SerialPort } = require('serialport') as typeof import('serialport');
  return new Promise<Link>((resolve, reject) => {
    const dataBits = settings.dataBits ?? 8;
    const parity = settings.parity ?? 'none';
    const stopBits = settings.stopBits ?? 1;
    const flow = settings.flow ?? 'none';
    const port = new SerialPort({
      path,
      baudRate: baud,
      dataBits,
      parity,
      stopBits,
      rtscts: flow === 'rtscts',
      xon: flow === 'xonxoff',
      xoff: flow === 'xonxoff',
      lock: true,
      autoOpen: false,
    });
    const frame = `${dataBits}${parity[0].toUpperCase()}${stopBits}`;
    const extra = frame !== '8N1' || flow !== 'none' ? ` ${frame}${flow !== 'none' ? ` ${flow}` : ''}` : '';
    // Before any read: serialport starts reading on 'open' once data is wanted.
    port.once('open', () => port.port && endReadsAtHangUp(port.port));
    port.open((err) => {
      if (err) reject(explainSerialError(err, path));
      else resolve(new SerialLink(port, `${path} at ${baud} baud${extra}`));
    });
  });
}
