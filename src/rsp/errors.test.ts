import { JosgdbError } from '../common/errors';
import { errorReply, malformed, RspErrno, RspError } from './errors';

describe('errorReply', () => {
  it.each<[unknown, string]>([
    [new RspError(RspErrno.EFAULT), 'E0e'],
    [new RspError(0x16, 'bad'), 'E16'],
    [malformed('x'), 'E16'],
    [new RspError(0xff), 'Eff'],
    [new RspError(300), 'E01'],
    [new RspError(-1), 'E01'],
    [new Error('boom'), 'E01'],
    [new JosgdbError('TIMEOUT', 'slow'), 'E01'],
    ['a string', 'E01'],
    [undefined, 'E01'],
    [null, 'E01'],
    [{ toString: () => { throw new Error('evil'); } }, 'E01'],
  ])('%p -> %s', (err, reply) => {
    expect(errorReply(err)).toBe(reply);
  });

  it('adds hex messages only when error strings are enabled (lldb)', () => {
    const err = new RspError(RspErrno.EFAULT, 'bad address');
    expect(errorReply(err, { errorStrings: true })).toBe('E0e;' + Buffer.from('bad address').toString('hex'));
    expect(errorReply(err, { errorStrings: false })).toBe('E0e');
  });

  it('sends a textual error as E.text for gdb, and as Enn;hex once lldb enabled error strings', () => {
    const err = new RspError(RspErrno.ENOSYS, 'the target cannot write registers', { textual: true });
    expect(errorReply(err)).toBe('E.the target cannot write registers');
    expect(errorReply(err, { errorStrings: true })).toBe('E26;' + Buffer.from('the target cannot write registers').toString('hex'));
    expect(errorReply(new RspError(RspErrno.ENOSYS, 'caf\u00e9\n', { textual: true }))).toBe('E.caf??');
    expect(errorReply(new RspError(RspErrno.ENOSYS, undefined, { textual: true }))).toBe('E26');
  });

  it('never throws even for hostile values with error strings on', () => {
    const evil = { toString: () => { throw new Error('evil'); } };
    expect(errorReply(evil, { errorStrings: true })).toBe('E01');
  });
});
