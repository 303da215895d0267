/**
 * Record and replay against the josx64 test double: a session recorded through
 * the real bridge (both links, into the gzip format), replayed by the real bridge
 * to a new gdb with identical output, and a different gdb command sequence
 * reported as a divergence at the first packet that differs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import pino from 'pino';
import { startBridge } from '../src/bridge/bridge';
import { openLink } from '../src/link/open';
import { encodePacket } from '../src/rsp/framing';
import { parseRecording, readRecordingFile } from '../src/recording/format';
import { SessionRecorder } from '../src/recording/session-recorder';
import { recordedConnections } from '../src/replay/rsp-check';
import { describeDivergence } from '../src/replay/divergence';
import { startReplay } from '../src/replay/replay';
import { FakeKernel, sym } from './support/fake-kernel';
import { gdbInstalled, runGdb } from './support/gdb';

const hex = (v: bigint) => '0x' + v.toString(16);
const log = () => pino({ level: (process.env.JOSGDB_TEST_LOG as pino.Level | undefined) ?? 'silent' }, pino.destination(2));

const SESSION = [
  'info registers rip',
  'x/4xb $pc',
  `break *${hex(sym('leaf'))}`,
  'continue',
  'stepi',
  'info registers rip',
  `x/2xg ${hex(sym('leaf'))}`,
  'detach',
];

describe('josgdb serve --record and josgdb replay (fake kernel)', () => {
  let dir: string;
  let file: string;
  let recordedOutput: string;

  beforeAll(async () => {
    expect(gdbInstalled()).toBe(true);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-replay-'));
    file = path.join(dir, 'session.josrec');
    const kernel = await FakeKernel.listen({});
    const recorder = new SessionRecorder(file, { target: `tcp:127.0.0.1:${kernel.port}`, listen: '127.0.0.1:0' }, '0.1.0-test', (m) => {
      throw new Error(m);
    });
    const bridge = await startBridge({
      target: `tcp:127.0.0.1:${kernel.port}`,
      openTarget: async () => recorder.target(await openLink(`tcp:127.0.0.1:${kernel.port}`)),
      rspTap: recorder.rsp,
      listenHost: '127.0.0.1',
      listenPort: 0,
      log: log(),
      handshakeTimeoutMs: 20_000,
      reconnect: false,
    });
    try {
      await bridge.session.waitForStop();
      recordedOutput = (await runGdb(bridge.port, SESSION)).output;
      await bridge.server.whenDisconnected();
    } finally {
      await bridge.close();
      await kernel.close();
      await recorder.close();
    }
  }, 60_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('writes a versioned gzip recording of both links', () => {
    const raw = fs.readFileSync(file);
    expect([raw[0], raw[1]]).toEqual([0x1f, 0x8b]);
    const rec = parseRecording(raw);
    expect(rec.header).toMatchObject({ format: 'josgdb-recording', version: 1, josgdb: '0.1.0-test' });
    expect(rec.complete).toBe(true);
    const kinds = new Set(rec.events.map((e) => ('bytes' in e ? `${e.link}:${e.dir}` : `${'link' in e ? e.link : ''}:${e.event}`)));
    expect([...kinds].sort()).toEqual(['gdb:close', 'gdb:connect', 'gdb:rx', 'gdb:tx', 'target:close', 'target:open', 'target:rx', 'target:tx', ':end'].sort());
    const times = rec.events.map((e) => e.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    // every byte: the gdb side decodes into the commands gdb sent
    const [conn] = recordedConnections(rec.events);
    expect(conn.fromGdb[0].text).toMatch(/^qSupported:/);
    expect(conn.fromGdb.some((p) => /^(vCont;c|c$)/.test(p.text))).toBe(true);
    expect(conn.fromGdb.at(-1)?.text).toMatch(/^D/);
    expect(recordedOutput).toContain('[Inferior 1 (Remote target) detached]');
  });

  it('replays to a new gdb with identical output and no divergence', async () => {
    const replay = await startReplay({ recording: readRecordingFile(file), listenHost: '127.0.0.1', listenPort: 0, log: log() });
    try {
      const { output } = await runGdb(replay.port, SESSION, 30_000);
      const result = await replay.done;
      expect(result.divergence && describeDivergence(result.divergence)).toBeUndefined();
      expect(output).toBe(recordedOutput);
    } finally {
      await replay.close();
    }
  }, 60_000);

  it('reports a different command sequence at the first packet that differs', async () => {
    const rec = readRecordingFile(file);
    const recordedPackets = recordedConnections(rec.events)[0].fromGdb.map((p) => p.text);
    // The different session reads leaf's bytes at leaf+8 instead of leaf.
    const changed = SESSION.map((c) => (c.startsWith('x/2xg') ? `x/2xg ${hex(sym('leaf') + 8n)}` : c));
    const firstRead = recordedPackets.findIndex((p) => p === `m${sym('leaf').toString(16)},8`);
    expect(firstRead).toBeGreaterThan(0);
    const replay = await startReplay({ recording: rec, listenHost: '127.0.0.1', listenPort: 0, log: log() });
    try {
      await runGdb(replay.port, changed, 30_000);
      const { divergence } = await replay.done;
      expect(divergence).toMatchObject({ side: 'gdb', index: firstRead + 1, expected: recordedPackets[firstRead] });
      expect(divergence!.got).toMatch(new RegExp(`^m${(sym('leaf') + 8n).toString(16)},`));
      const text = describeDivergence(divergence!);
      expect(text).toContain(`gdb packet #${firstRead + 1}`);
      expect(text).toContain(`expected: ${recordedPackets[firstRead]}`);
    } finally {
      await replay.close();
    }
  }, 60_000);

  it('reports josgdb asking the target something else than recorded (a bridge change) at that write', async () => {
    const rec = readRecordingFile(file);
    // Pretend josgdb used to send something else in its 3rd write to the target.
    const writes = rec.events.filter((e) => 'bytes' in e && e.link === 'target' && e.dir === 'tx');
    const third = writes[2] as { bytes: Buffer };
    const original = Buffer.from(third.bytes);
    third.bytes = Buffer.from(third.bytes);
    third.bytes[0] ^= 0xff;
    const replay = await startReplay({ recording: rec, listenHost: '127.0.0.1', listenPort: 0, log: log() });
    try {
      await runGdb(replay.port, SESSION, 30_000).catch(() => undefined);
      const { divergence } = await replay.done;
      expect(divergence).toMatchObject({ side: 'target', index: 3 });
      expect(divergence!.got!.replace(/ /g, '')).toMatch(new RegExp(`^${original.subarray(0, 4).toString('hex')}`));
      expect(describeDivergence(divergence!)).toContain("josgdb's write #3 to the target");
    } finally {
      await replay.close();
    }
  }, 60_000);

  it('gives up on a recording without the handshake after the --handshake-timeout it was given', async () => {
    const rec = readRecordingFile(file);
    // Cut before the kernel ever answered: josgdb's writes are there, the kernel's bytes are not.
    rec.events = rec.events.filter((e) => !('bytes' in e && e.link === 'target' && e.dir === 'rx'));
    const t0 = Date.now();
    let err: unknown;
    await startReplay({ recording: rec, listenHost: '127.0.0.1', listenPort: 0, log: log(), handshakeTimeoutMs: 700 }).then(
      (r) => r.close(),
      (e: unknown) => (err = e),
    );
    expect((err as Error | undefined)?.message).toMatch(/^no KernelConnectionInfo from .* within 0\.7 s \(--handshake-timeout\)/);
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 30_000);

  it("reports a reply josgdb gives differently than recorded", async () => {
    const rec = readRecordingFile(file);
    // The recording says josgdb answered qSupported differently.
    const reply = rec.events.find((e) => 'bytes' in e && e.link === 'gdb' && e.dir === 'tx' && e.bytes.includes('PacketSize='));
    expect(reply).toBeDefined();
    const r = reply as { bytes: Buffer };
    const text = r.bytes.toString('latin1').replace(/\$([^#]*)#[0-9a-f]{2}/, (_m, payload: string) =>
      encodePacket(payload.replace(/PacketSize=[0-9a-f]+/, 'PacketSize=123')).toString('latin1'),
    );
    r.bytes = Buffer.from(text, 'latin1');
    const replay = await startReplay({ recording: rec, listenHost: '127.0.0.1', listenPort: 0, log: log() });
    try {
      const { output } = await runGdb(replay.port, SESSION, 30_000);
      expect(output).toBe(recordedOutput);
      const { divergence } = await replay.done;
      expect(divergence).toMatchObject({ side: 'josgdb-reply', index: 1 });
      expect(divergence!.expected).toMatch(/PacketSize=123/);
      expect(divergence!.got).toMatch(/PacketSize=(?!123;)/);
    } finally {
      await replay.close();
    }
  }, 60_000);
});
