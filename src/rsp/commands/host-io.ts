/**
 * gdb's Host I/O packets (`vFile:op:args`): how gdb, with its default `target:`
 * sysroot, reads the executable from the remote side when it has no local file.
 * Filenames arrive hex encoded; numbers are hex. `pwrite` data is binary.
 */
import { malformed } from '../errors';
import { parseHexNumber } from '../hex';
import { clip, parseLength, type ParserEntry } from './args';
import type { RspCommand } from './types';

function hexText(text: string, what: string): string {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) throw malformed(`${what}: '${clip(text)}' is not hex text`);
  return Buffer.from(text, 'hex').toString('latin1');
}

function fields(args: string, count: number, what: string): string[] {
  const parts = args.split(',');
  if (parts.length !== count) throw malformed(`${what}: expected ${count} arguments, got '${clip(args)}'`);
  return parts;
}

const fd = (text: string, what: string) => parseHexNumber(text, what, 0x7fff_ffff);

export const hostIoParsers: ParserEntry[] = [
  {
    prefix: 'vFile',
    tail: 'sep',
    parse: (args): RspCommand => {
      if (!args.startsWith(':')) throw malformed('vFile: expected vFile:operation:arguments');
      const colon = args.indexOf(':', 1);
      const op = colon < 0 ? args.slice(1) : args.slice(1, colon);
      const rest = colon < 0 ? '' : args.slice(colon + 1);
      switch (op) {
        case 'setfs':
          return { kind: 'vFile', op: 'setfs', pid: parseHexNumber(rest, 'vFile:setfs pid', 0x7fff_ffff) };
        case 'open': {
          const [name, flags, mode] = fields(rest, 3, 'vFile:open');
          return {
            kind: 'vFile',
            op: 'open',
            filename: hexText(name!, 'vFile:open filename'),
            flags: parseHexNumber(flags!, 'vFile:open flags', 0xffff_ffff),
            mode: parseHexNumber(mode!, 'vFile:open mode', 0xffff_ffff),
          };
        }
        case 'close':
          return { kind: 'vFile', op: 'close', fd: fd(rest, 'vFile:close fd') };
        case 'pread': {
          const [f, count, offset] = fields(rest, 3, 'vFile:pread');
          return {
            kind: 'vFile',
            op: 'pread',
            fd: fd(f!, 'vFile:pread fd'),
            count: parseLength(count!, 'vFile:pread count'),
            offset: parseLength(offset!, 'vFile:pread offset'),
          };
        }
        case 'pwrite': {
          // Writes are refused whatever they carry: only the fd is kept, for the reply.
          const parts = rest.split(',');
          if (parts.length < 3) throw malformed('vFile:pwrite: expected fd,offset,data');
          return { kind: 'vFile', op: 'pwrite', fd: fd(parts[0]!, 'vFile:pwrite fd') };
        }
        case 'fstat':
          return { kind: 'vFile', op: 'fstat', fd: fd(rest, 'vFile:fstat fd') };
        case 'unlink':
          return { kind: 'vFile', op: 'unlink', filename: hexText(rest, 'vFile:unlink filename') };
        case 'readlink':
          return { kind: 'vFile', op: 'readlink', filename: hexText(rest, 'vFile:readlink filename') };
        default:
          return { kind: 'unknown', name: `vFile:${op}` };
      }
    },
  },
];
