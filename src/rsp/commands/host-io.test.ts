import { parseCommand } from '.';
import { RspError } from '../errors';

const hexName = (s: string) => Buffer.from(s, 'latin1').toString('hex');

describe('vFile (Host I/O) packets', () => {
  it.each([
    ['vFile:setfs:0', { kind: 'vFile', op: 'setfs', pid: 0 }],
    [`vFile:open:${hexName('/josgdb/BOOTX64.debug')},0,1a4`, { kind: 'vFile', op: 'open', filename: '/josgdb/BOOTX64.debug', flags: 0, mode: 0x1a4 }],
    ['vFile:pread:3,3fff,10000', { kind: 'vFile', op: 'pread', fd: 3, count: 0x3fff, offset: 0x10000 }],
    ['vFile:fstat:3', { kind: 'vFile', op: 'fstat', fd: 3 }],
    ['vFile:close:3', { kind: 'vFile', op: 'close', fd: 3 }],
    ['vFile:pwrite:3,0,abc', { kind: 'vFile', op: 'pwrite', fd: 3 }],
    [`vFile:readlink:${hexName('/proc/1/exe')}`, { kind: 'vFile', op: 'readlink', filename: '/proc/1/exe' }],
    [`vFile:unlink:${hexName('/etc/passwd')}`, { kind: 'vFile', op: 'unlink', filename: '/etc/passwd' }],
    ['vFile:mkdir:00', { kind: 'unknown', name: 'vFile:mkdir' }],
  ])('%s', (packet, expected) => {
    expect(parseCommand(Buffer.from(packet, 'latin1'))).toEqual(expected);
  });

  it.each(['vFile', 'vFile:open:zz,0,0', 'vFile:open:41', 'vFile:pread:3,10', 'vFile:close:', 'vFile:setfs:x', 'vFile:open:414,0,0'])(
    'rejects %j with an RspError',
    (packet) => {
      expect(() => parseCommand(Buffer.from(packet, 'latin1'))).toThrow(RspError);
    },
  );
});
