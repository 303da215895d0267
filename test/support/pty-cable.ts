/**
 * A pseudo-terminal standing in for a null-modem cable: python3 opens a pty pair,
 * prints the slave's path (what josgdb opens, like /dev/ttyUSB0), and copies bytes
 * between the master and a TCP serial port (QEMU's `-serial tcp:...,server=on` or
 * the josx64 test double), both ways, until either side closes or it is killed.
 */
import { spawn, type ChildProcess } from 'child_process';

const SCRIPT = `
import os, pty, tty, socket, select, sys
m, s = pty.openpty()
tty.setraw(s)
print(os.ttyname(s), flush=True)
c = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
while True:
    r, _, _ = select.select([m, c], [], [])
    if m in r:
        try:
            d = os.read(m, 4096)
        except OSError:
            d = b''  # no process has the slave open: nothing to forward yet
        if d:
            c.sendall(d)
        else:
            select.select([c], [], [], 0.01)
    if c in r:
        d = c.recv(4096)
        if not d:
            break
        os.write(m, d)
`;

export interface PtyCable {
  /** The device path josgdb opens (/dev/pts/N). */
  path: string;
  process: ChildProcess;
  close(): void;
}

export async function ptyCableTo(tcpPort: number): Promise<PtyCable> {
  const child = spawn('python3', ['-c', SCRIPT, String(tcpPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const path = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', (code) => reject(new Error(`the pty cable exited (${code}): ${stderr}`)));
    child.once('error', reject);
  });
  return { path, process: child, close: () => child.kill() };
}
