/**
 * Drives the real gdb through its machine interface (GDB/MI 3), for e2e tests
 * that need interactivity batch mode cannot give: interrupting a running target
 * (gdb's `-exec-interrupt` sends the RSP Ctrl-C byte), timing a stop, or reacting
 * to what gdb printed before sending the next command.
 *
 *     const gdb = await GdbMi.connect(bridge.port);
 *     await gdb.cli('break *0x1234');
 *     await gdb.run('-exec-continue');          // ^running
 *     const stop = await gdb.nextStop();        // *stopped,reason=...
 *     await gdb.close();
 *
 * Every command carries a numeric token; its result record (`^done`, `^running`,
 * `^connected`, `^error`, `^exit`) is matched by token. `*stopped` records are
 * queued in arrival order with the time they arrived, and each is handed out once.
 */
import { ChildProcessWithoutNullStreams, spawn } from 'child_process';
import { GDB } from './gdb';

export type MiValue = string | MiTuple | MiValue[];
export interface MiTuple {
  [name: string]: MiValue;
}

export interface MiRecord {
  token?: number;
  /** `^` result, `*` exec async, `+` status async, `=` notify async. */
  type: '^' | '*' | '+' | '=';
  /** done, running, connected, error, exit, stopped, thread-created, ... */
  cls: string;
  results: MiTuple;
  /** performance.now() when the line arrived. */
  at: number;
}

/** A result record plus the console, target and log stream text gdb printed while the command ran. */
export interface MiResult extends MiRecord {
  output: string;
}

/** Parses one MI output line's `results` part: `a="x",b={c="y"},d=["z"]`. */
export function parseMiResults(text: string): MiTuple {
  const p = new MiParser(text);
  const out: MiTuple = {};
  while (!p.atEnd()) {
    const [name, value] = p.result();
    out[name] = value;
    if (!p.atEnd()) p.expect(',');
  }
  return out;
}

class MiParser {
  private i = 0;
  constructor(private readonly s: string) {}

  atEnd(): boolean {
    return this.i >= this.s.length;
  }

  expect(c: string): void {
    if (this.s[this.i] !== c) throw new Error(`MI parse error: expected '${c}' at ${this.i} in ${this.s}`);
    this.i++;
  }

  result(): [string, MiValue] {
    const eq = this.s.indexOf('=', this.i);
    if (eq < 0) throw new Error(`MI parse error: no '=' after ${this.i} in ${this.s}`);
    const name = this.s.slice(this.i, eq);
    this.i = eq + 1;
    return [name, this.value()];
  }

  value(): MiValue {
    const c = this.s[this.i];
    if (c === '"') return this.cstring();
    if (c === '{') {
      this.i++;
      const t: MiTuple = {};
      while (this.s[this.i] !== '}') {
        const [n, v] = this.result();
        t[n] = v;
        if (this.s[this.i] === ',') this.i++;
      }
      this.i++;
      return t;
    }
    if (c === '[') {
      this.i++;
      const list: MiValue[] = [];
      while (this.s[this.i] !== ']') {
        // A list holds either values or results (name=value); names are dropped.
        const c2 = this.s[this.i];
        list.push(c2 === '"' || c2 === '{' || c2 === '[' ? this.value() : this.result()[1]);
        if (this.s[this.i] === ',') this.i++;
      }
      this.i++;
      return list;
    }
    throw new Error(`MI parse error: unexpected '${c}' at ${this.i} in ${this.s}`);
  }

  cstring(): string {
    this.expect('"');
    let out = '';
    for (;;) {
      const c = this.s[this.i++];
      if (c === undefined) throw new Error(`MI parse error: unterminated string in ${this.s}`);
      if (c === '"') return out;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.s[this.i++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'e': out += '\x1b'; break;
        case 'a': out += '\x07'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        default:
          if (e !== undefined && /[0-7]/.test(e)) {
            // gdb escapes non-printable bytes as up to three octal digits.
            let digits = e;
            while (digits.length < 3 && /[0-7]/.test(this.s[this.i] ?? '')) digits += this.s[this.i++];
            out += String.fromCharCode(parseInt(digits, 8));
          } else {
            out += e ?? '';
          }
      }
    }
  }
}

/** Quotes a CLI command for `-interpreter-exec console "..."`. */
function miQuote(text: string): string {
  return '"' + text.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

export class GdbMi {
  /** Everything gdb printed on its console, target and log streams, in order. */
  transcript = '';
  private readonly child: ChildProcessWithoutNullStreams;
  private buffer = '';
  private nextToken = 1;
  private readonly pending = new Map<number, { resolve: (r: MiResult) => void; outputStart: number }>();
  private readonly stops: MiRecord[] = [];
  private stopWaiters: ((r: MiRecord) => void)[] = [];
  private readonly textWaiters = new Set<() => boolean>();
  private exitWaiters: (() => void)[] = [];
  private exited = false;
  private stderr = '';

  private constructor(gdbPath: string) {
    this.child = spawn(gdbPath, ['--interpreter=mi3', '-nx', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('latin1');
    this.child.stdout.on('data', (d: string) => this.onData(d));
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.child.on('exit', () => {
      this.exited = true;
      for (const w of this.exitWaiters) w();
      this.exitWaiters = [];
    });
  }

  /**
   * Starts gdb, switches MI to asynchronous execution (so commands such as
   * `-exec-interrupt` are read while the target runs) and connects to the bridge.
   */
  static async connect(port: number, options: { gdbPath?: string; timeoutMs?: number } = {}): Promise<GdbMi> {
    const gdb = new GdbMi(options.gdbPath ?? GDB);
    const t = options.timeoutMs ?? 60_000;
    await gdb.run('-gdb-set mi-async on', t);
    await gdb.run('-gdb-set pagination off', t);
    await gdb.run('-gdb-set confirm off', t);
    const connected = await gdb.run(`-target-select remote 127.0.0.1:${port}`, t);
    if (connected.cls !== 'connected') throw new Error(`gdb did not connect: ${JSON.stringify(connected)}`);
    // The stop gdb found on connecting is part of connecting, not a stop a test waits for.
    gdb.stops.length = 0;
    return gdb;
  }

  /** Sends an MI command and resolves with its result record, whatever its class. */
  send(command: string, timeoutMs = 60_000): Promise<MiResult> {
    if (this.exited) return Promise.reject(new Error(`gdb has exited; cannot send ${command}`));
    const token = this.nextToken++;
    return new Promise<MiResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(token);
        reject(new Error(`gdb gave no result for "${command}" within ${timeoutMs} ms; transcript:\n${this.transcript}${this.stderr}`));
      }, timeoutMs);
      this.pending.set(token, {
        outputStart: this.transcript.length,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
      this.child.stdin.write(`${token}${command}\n`);
    });
  }

  /** Like `send`, but an `^error` result rejects with gdb's message. */
  async run(command: string, timeoutMs = 60_000): Promise<MiResult> {
    const r = await this.send(command, timeoutMs);
    if (r.cls === 'error') throw new Error(`gdb: ${command}: ${String(r.results.msg)}`);
    return r;
  }

  /** A CLI command through MI; resolves with its result and the text gdb printed for it. */
  cli(command: string, timeoutMs = 60_000): Promise<MiResult> {
    return this.send(`-interpreter-exec console ${miQuote(command)}`, timeoutMs);
  }

  /** The next `*stopped` record not handed out yet (waits for one if needed). */
  nextStop(timeoutMs = 60_000): Promise<MiRecord> {
    const queued = this.stops.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise<MiRecord>((resolve, reject) => {
      const waiter = (r: MiRecord) => {
        clearTimeout(timer);
        resolve(r);
      };
      const timer = setTimeout(() => {
        this.stopWaiters = this.stopWaiters.filter((w) => w !== waiter);
        reject(new Error(`no *stopped record within ${timeoutMs} ms; transcript:\n${this.transcript}`));
      }, timeoutMs);
      this.stopWaiters.push(waiter);
    });
  }

  /**
   * Resolves with performance.now() once gdb's console, target or log stream output
   * (from `since`, an offset into `transcript`) matches `pattern`.
   */
  waitForText(pattern: RegExp, options: { since?: number; timeoutMs?: number } = {}): Promise<number> {
    const since = options.since ?? 0;
    const timeoutMs = options.timeoutMs ?? 60_000;
    return new Promise<number>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(this.transcript.slice(since))) return false;
        clearTimeout(timer);
        this.textWaiters.delete(check);
        resolve(performance.now());
        return true;
      };
      const timer = setTimeout(() => {
        this.textWaiters.delete(check);
        reject(new Error(`gdb printed nothing matching ${pattern} within ${timeoutMs} ms; transcript:\n${this.transcript}`));
      }, timeoutMs);
      if (!check()) this.textWaiters.add(check);
    });
  }

  /** `-gdb-exit` (gdb detaches, as the bridge answers qAttached with 1); kills gdb if it lingers. */
  async close(timeoutMs = 10_000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.exitWaiters.push(resolve));
    this.child.stdin.write(`${this.nextToken++}-gdb-exit\n`);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await gone;
    clearTimeout(timer);
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
    }
  }

  private onLine(line: string): void {
    if (process.env.JOSGDB_SHOW_GDB) process.stderr.write(`mi: ${line}\n`);
    if (line === '(gdb)' || line === '(gdb) ' || line === '') return;
    const stream = /^([~@&])(".*")$/.exec(line);
    if (stream) {
      this.transcript += new MiParser(stream[2]!).cstring();
      for (const check of [...this.textWaiters]) check();
      return;
    }
    const m = /^(\d*)([\^*+=])([a-zA-Z-]+),?(.*)$/.exec(line);
    if (!m) {
      // The inferior's own output or gdb noise outside MI framing: keep it for diagnostics.
      this.transcript += line + '\n';
      return;
    }
    const record: MiRecord = {
      token: m[1] ? Number(m[1]) : undefined,
      type: m[2] as MiRecord['type'],
      cls: m[3]!,
      results: m[4] ? parseMiResults(m[4]) : {},
      at: performance.now(),
    };
    if (record.type === '^' && record.token !== undefined) {
      const p = this.pending.get(record.token);
      if (p) {
        this.pending.delete(record.token);
        p.resolve({ ...record, output: this.transcript.slice(p.outputStart) });
      }
      return;
    }
    if (record.type === '*' && record.cls === 'stopped') {
      const waiter = this.stopWaiters.shift();
      if (waiter) waiter(record);
      else this.stops.push(record);
    }
  }
}

/** A tuple field as a string ('' when absent or not a string). */
export function miString(t: MiValue | undefined, ...path: string[]): string {
  let v: MiValue | undefined = t;
  for (const p of path) {
    if (v === undefined || typeof v === 'string' || Array.isArray(v)) return '';
    v = v[p];
  }
  return typeof v === 'string' ? v : '';
}
