#!/usr/bin/env node
'use strict';
/**
 * The counting proxy between josgdb and the target's UART, in a process of its
 * own so that its work does not count as the bridge's CPU time.
 *
 *   node proxy.js TARGET_PORT   prints one JSON line {"port":N,"controlPort":M}
 *
 * It forwards bytes both ways and decodes the josx64 framing of each direction
 * (8-byte header: u32 id, u32 length; WriteTargetMemory's data follows its
 * 12-byte body), so the counters say which messages the bytes were: the floor
 * of an operation (the resume commands and the stops the kernel sends anyway)
 * is then computed from what really crossed the link. Every connection to the
 * control port gets the counters as JSON and restarts both decoders at a packet
 * boundary: it is only asked while the link is idle (gdb waits at its prompt,
 * the kernel is stopped), so the first byte after it starts a packet.
 */
const net = require('node:net');

const HOST_MESSAGES = {
  0: 'Continue',
  4: 'ReadTargetMemory',
  5: 'WriteTargetMemory',
  8: 'TraceStep',
  9: 'TraversePageTable',
  11: 'RDMSR',
  13: 'UpdateBreakpoints',
  15: 'SingleStep',
  17: 'CPUID',
  0x40: 'WriteRegisters',
  0x41: 'BreakIn',
  0x42: 'SafeRead',
  0x43: 'SafeWrite',
  0x44: 'SetHwBreakpoint',
  0x45: 'RangeStep',
  0x46: 'ReadContext',
  0x47: 'Reset',
  0x48: 'TraceStepCompact',
};
const TARGET_MESSAGES = {
  1: 'Trace',
  2: 'KernelConnectionInfo',
  3: 'Breakpoint',
  6: 'GPF',
  10: 'Assert',
  12: 'UD',
  14: 'BreakpointCallstack',
  16: 'PF',
  0x804: 'ReadTargetMemory reply',
  0x809: 'TraversePageTable reply',
  0x80b: 'RDMSR reply',
  0x811: 'CPUID reply',
  0x50: 'Exception',
  0x52: 'HwBreakpoint',
  0x53: 'CompactStop',
  0x840: 'WriteRegisters reply',
  0x841: 'BreakInStop',
  0x842: 'SafeRead reply',
  0x843: 'SafeWrite reply',
  0x844: 'SetHwBreakpoint reply',
  0x846: 'ReadContext reply',
};
const WRITE_TARGET_MEMORY = 5;
/** No josx64 or extension message is this long: a header that says so means the decoder lost the framing. */
const MAX_SANE_LENGTH = 16 * 1024 * 1024;

/** Splits one direction of the link into messages and counts them by name. */
class FramingCounter {
  constructor(names, direction) {
    this.names = names;
    this.direction = direction;
    this.reset();
  }

  reset() {
    this.header = Buffer.alloc(0);
    this.skip = 0; // body bytes still to pass
    this.writeBody = undefined; // a WriteTargetMemory body being collected (its data length is inside)
    this.current = undefined;
    this.lost = false;
  }

  push(chunk, counts) {
    let i = 0;
    while (i < chunk.length && !this.lost) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.current.bytes += n;
        this.skip -= n;
        i += n;
      } else if (this.writeBody) {
        const take = chunk.subarray(i, i + 12 - this.writeBody.length);
        this.writeBody = Buffer.concat([this.writeBody, take]);
        this.current.bytes += take.length;
        i += take.length;
        if (this.writeBody.length === 12) {
          this.skip = this.writeBody.readUInt32LE(8); // the data follows the counted body
          this.writeBody = undefined;
        }
      } else {
        const take = chunk.subarray(i, i + 8 - this.header.length);
        this.header = Buffer.concat([this.header, take]);
        i += take.length;
        if (this.header.length < 8) break;
        const id = this.header.readUInt32LE(0);
        const length = this.header.readUInt32LE(4);
        this.header = Buffer.alloc(0);
        const isWrite = id === WRITE_TARGET_MEMORY && this.direction === 'to target';
        if (length > MAX_SANE_LENGTH || (isWrite && length !== 12)) {
          this.lost = true;
          break;
        }
        const key = `${this.direction}: ${this.names[id] ?? `id 0x${id.toString(16)}`}`;
        counts[key] ??= { count: 0, bytes: 0 };
        this.current = counts[key];
        this.current.count++;
        this.current.bytes += 8;
        if (isWrite) this.writeBody = Buffer.alloc(0);
        else this.skip = length;
      }
    }
  }
}

/**
 * Paces one direction like a UART at `pacing.baud` (10 bits a byte) when it is
 * set: what a real 115200-baud line does to throughput, with QEMU's UART, which
 * does not throttle, behind it.
 */
const pacing = { baud: 0 };
function pacedWriter(socket) {
  const queue = [];
  let credit = 0; // bytes the line may send now
  let last = performance.now();
  let timer;
  const pump = () => {
    timer = undefined;
    const now = performance.now();
    if (pacing.baud) {
      // timers fire late under load: the credit catches up, so the average rate holds
      credit = Math.min(credit + ((now - last) * pacing.baud) / 10 / 1000, MAX_BURST);
    }
    last = now;
    while (queue.length > 0) {
      if (!pacing.baud) {
        socket.write(queue.shift());
        continue;
      }
      const n = Math.min(queue[0].length, Math.floor(credit));
      if (n <= 0) {
        timer = setTimeout(pump, 1);
        return;
      }
      socket.write(queue[0].subarray(0, n));
      credit -= n;
      if (n === queue[0].length) queue.shift();
      else queue[0] = queue[0].subarray(n);
    }
  };
  return (data) => {
    queue.push(data);
    if (!timer) pump();
  };
}

/** Bytes a paced line may send at once after idling: a 16550's FIFO. */
const MAX_BURST = 16;

async function main() {
  const targetPort = Number(process.argv[2]);
  const counters = { hostToTarget: 0, targetToHost: 0, requests: 0, messages: {}, framingLost: false };
  const toTarget = new FramingCounter(HOST_MESSAGES, 'to target');
  const fromTarget = new FramingCounter(TARGET_MESSAGES, 'from target');
  let lastDirection = 'target';
  let counting = false; // the handshake and boot noise before the first control request are not framed
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    const toUpstream = pacedWriter(upstream);
    const toClient = pacedWriter(client);
    client.on('data', (d) => {
      counters.hostToTarget += d.length;
      if (lastDirection !== 'host') counters.requests++;
      lastDirection = 'host';
      if (counting) toTarget.push(d, counters.messages);
      toUpstream(d);
    });
    upstream.on('data', (d) => {
      counters.targetToHost += d.length;
      lastDirection = 'target';
      if (counting) fromTarget.push(d, counters.messages);
      toClient(d);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  // one line per control connection: `counters` (answered with the JSON counters) or `throttle BAUD` (0: off)
  const control = net.createServer((s) => {
    let line = '';
    s.on('data', (d) => {
      line += d;
      if (!line.includes('\n')) return;
      const [command, arg] = line.trim().split(/\s+/);
      if (command === 'throttle') {
        pacing.baud = Number(arg);
        s.end('ok');
        return;
      }
      counters.framingLost = toTarget.lost || fromTarget.lost;
      s.end(JSON.stringify(counters));
      toTarget.reset();
      fromTarget.reset();
      counting = true;
    });
    s.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  await new Promise((r) => control.listen(0, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ port: server.address().port, controlPort: control.address().port })}\n`);
}

main().catch((e) => {
  process.stderr.write(`proxy: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
