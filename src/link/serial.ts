/**
 * Serial device link (a USB UART, /dev/ttyS0, or a pty such as QEMU's `-serial pty`),
 * 8N1 at the given baud. josx64 programs COM1 to 38400 baud (divisor 3), so that is
 * the default. Uses the `serialport` package (its native binding ships prebuilt in
 * the npm package); it is loaded only when a serial link is opened.
 */
import type { SerialPort as SerialPortType } from 'serialport';
import { JosgdbError } from '../common/errors';
import type { Link } from './link';
import { BaseLink } from './link';

export const DEFAULT_BAUD = 38400;

function explain(err: Error, path: string): JosgdbError {
  const m = err.message;
  if (/no such file|ENOENT/i.test(m)) return new JosgdbError('LINK_UNREACHABLE', `no serial device at ${path}`);
  if (/permission denied|EACCES/i.test(m)) {
    return new JosgdbError('LINK_UNREACHABLE', `permission denied opening ${path}: is your user in the dialout group?`);
  }
  if (/busy|EBUSY|lock/i.test(m)) return new JosgdbError('LINK_UNREACHABLE', `${path} is in use by another program`);
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
    port.on('close', () => {
      this.emitClose(lastError ? new JosgdbError('LINK_CLOSED', `${description}: ${lastError.message}`) : undefined);
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

export function openSerialLink(path: string, baud: number = DEFAULT_BAUD): Promise<Link> {
  if (!Number.isInteger(baud) || baud <= 0) {
    return Promise.reject(new JosgdbError('BAD_ARGUMENT', `bad baud rate ${baud}`));
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SerialPort } = require('serialport') as typeof import('serialport');
  return new Promise<Link>((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: baud, dataBits: 8, parity: 'none', stopBits: 1, autoOpen: false });
    port.open((err) => {
      if (err) reject(explain(err, path));
      else resolve(new SerialLink(port, `${path} at ${baud} baud`));
    });
  });
}
