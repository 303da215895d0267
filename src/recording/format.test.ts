import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { parseRecording, readRecordingFile, RecordingWriter } from './format';

describe('recording format', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'josgdb-recfmt-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips a header and byte events through gzip', async () => {
    const file = path.join(dir, 'a.josrec');
    const w = new RecordingWriter(file, { target: 'tcp:127.0.0.1:5555' }, '9.9.9');
    w.event({ link: 'target', event: 'open', description: 'tcp:127.0.0.1:5555' });
    w.bytes('target', 'tx', Buffer.from('----josx'));
    w.bytes('gdb', 'rx', Buffer.from('$g#67'));
    w.bytes('gdb', 'tx', Buffer.alloc(0)); // nothing to record
    await w.close();
    const rec = readRecordingFile(file);
    expect(rec.header).toMatchObject({ format: 'josgdb-recording', version: 1, josgdb: '9.9.9', options: { target: 'tcp:127.0.0.1:5555' } });
    expect(rec.complete).toBe(true);
    expect(rec.events.map((e) => ('bytes' in e ? `${e.link} ${e.dir} ${e.bytes.toString()}` : e.event))).toEqual([
      'open',
      'target tx ----josx',
      'gdb rx $g#67',
      'end',
    ]);
  });

  it('reads a file cut short up to its last whole line, and says it is incomplete', async () => {
    const file = path.join(dir, 'b.josrec');
    const w = new RecordingWriter(file, {}, '1');
    for (let i = 0; i < 50; i++) w.bytes('target', 'rx', Buffer.from(`chunk ${i}`));
    await w.close();
    const whole = zlib.gunzipSync(fs.readFileSync(file));
    const cut = zlib.gzipSync(whole.subarray(0, whole.length - 40));
    const rec = parseRecording(cut.subarray(0, cut.length - 8)); // no gzip trailer either
    expect(rec.complete).toBe(false);
    expect(rec.events.length).toBeGreaterThan(40);
    expect(rec.events.length).toBeLessThan(51);
  });

  it('refuses other files and other versions with the reason', () => {
    expect(() => parseRecording(Buffer.from(''), 'x')).toThrow('x is not a josgdb recording: it is empty');
    expect(() => parseRecording(Buffer.from('{"format":"pcap"}\n'), 'x')).toThrow('x is not a josgdb recording: the header names format "pcap"');
    expect(() => parseRecording(Buffer.from('{"format":"josgdb-recording","version":2}\n'), 'x')).toThrow(
      'x is not a josgdb recording: it is version 2 of the format and this josgdb reads version 1',
    );
    expect(() => readRecordingFile(path.join(dir, 'missing'))).toThrow(/cannot read the recording .*missing/);
  });
});
