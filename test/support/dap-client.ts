/**
 * A headless Debug Adapter Protocol client: what VS Code does with a debug
 * adapter, without VS Code. It starts the adapter on stdio, frames messages with
 * `Content-Length`, matches responses to requests by `request_seq`, and queues
 * events so a test can wait for the next `stopped` (each event is handed out
 * once, in arrival order).
 *
 *     const dap = DapClient.start(lldbVscodePath(), { env: lldbEnv() });
 *     await dap.request('initialize', { adapterID: 'lldb-vscode' });
 *     await dap.request('attach', { attachCommands: ['gdb-remote 127.0.0.1:1234'] });
 *     const stop = await dap.event('stopped');
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'child_process';

export interface DapResponse {
  seq: number;
  type: 'response';
  request_seq: number;
  command: string;
  success: boolean;
  message?: string;
  body?: any;
}

export interface DapEvent {
  seq: number;
  type: 'event';
  event: string;
  body?: any;
}

export class DapClient {
  /** Every message both ways, for failure messages. */
  readonly transcript: string[] = [];
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = Buffer.alloc(0);
  private seq = 1;
  private readonly pending = new Map<number, (r: DapResponse) => void>();
  private readonly events: DapEvent[] = [];
  private eventWaiters: { name: string; resolve: (e: DapEvent) => void }[] = [];
  private stderr = '';
  private exited = false;

  private constructor(command: string, args: string[], env: NodeJS.ProcessEnv) {
    this.child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => this.onData(d));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.on('exit', () => (this.exited = true));
  }

  static start(command: string, options: { args?: string[]; env?: NodeJS.ProcessEnv } = {}): DapClient {
    return new DapClient(command, options.args ?? [], options.env ?? process.env);
  }

  /** Sends a request and resolves with its response, successful or not. */
  send(command: string, args: object = {}, timeoutMs = 60_000): Promise<DapResponse> {
    const seq = this.seq++;
    const message = { seq, type: 'request', command, arguments: args };
    return new Promise<DapResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`no response to ${command} within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      this.pending.set(seq, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      this.write(message);
    });
  }

  /** Like `send`, but a failed response rejects with the adapter's message. */
  async request(command: string, args: object = {}, timeoutMs = 60_000): Promise<DapResponse> {
    const r = await this.send(command, args, timeoutMs);
    if (!r.success) throw new Error(`${command} failed: ${r.message ?? ''} ${JSON.stringify(r.body ?? {})}\n${this.describe()}`);
    return r;
  }

  /** The next event called `name` not handed out yet; earlier events of other names stay queued. */
  event(name: string, timeoutMs = 60_000): Promise<DapEvent> {
    const i = this.events.findIndex((e) => e.event === name);
    if (i >= 0) return Promise.resolve(this.events.splice(i, 1)[0]!);
    return new Promise<DapEvent>((resolve, reject) => {
      const waiter = {
        name,
        resolve: (e: DapEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.eventWaiters = this.eventWaiters.filter((w) => w !== waiter);
        reject(new Error(`no ${name} event within ${timeoutMs} ms\n${this.describe()}`));
      }, timeoutMs);
      this.eventWaiters.push(waiter);
    });
  }

  /** Drops queued events called `name` (e.g. `output`), returning them. */
  drain(name: string): DapEvent[] {
    const taken = this.events.filter((e) => e.event === name);
    for (const e of taken) this.events.splice(this.events.indexOf(e), 1);
    return taken;
  }

  /** Kills the adapter if it is still running (after `disconnect` it exits by itself). */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    this.child.stdin.end();
    await gone;
    clearTimeout(timer);
  }

  describe(): string {
    return `DAP transcript:\n${this.transcript.slice(-60).join('\n')}\nadapter stderr:\n${this.stderr}`;
  }

  private write(message: object): void {
    const json = JSON.stringify(message);
    this.transcript.push(`-> ${json}`);
    this.child.stdin.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) return;
      const header = this.buffer.subarray(0, headerEnd).toString('latin1');
      const m = /Content-Length: *(\d+)/i.exec(header);
      if (!m) throw new Error(`DAP header without Content-Length: ${header}`);
      const length = Number(m[1]);
      if (this.buffer.length < headerEnd + 4 + length) return;
      const body = this.buffer.subarray(headerEnd + 4, headerEnd + 4 + length).toString('utf8');
      this.buffer = this.buffer.subarray(headerEnd + 4 + length);
      this.onMessage(JSON.parse(body) as DapResponse | DapEvent | { type: 'request' });
    }
  }

  private onMessage(message: DapResponse | DapEvent | { type: 'request' }): void {
    this.transcript.push(`<- ${JSON.stringify(message)}`);
    if (process.env.JOSGDB_SHOW_GDB) process.stderr.write(`dap <- ${JSON.stringify(message)}\n`);
    if (message.type === 'response') {
      const resolve = this.pending.get(message.request_seq);
      this.pending.delete(message.request_seq);
      resolve?.(message);
    } else if (message.type === 'event') {
      const i = this.eventWaiters.findIndex((w) => w.name === message.event);
      if (i >= 0) this.eventWaiters.splice(i, 1)[0]!.resolve(message);
      else this.events.push(message);
    }
  }
}
