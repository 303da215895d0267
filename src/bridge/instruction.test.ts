import { decodeInstructionLength, disassembleOne } from './instruction';

describe('decodeInstructionLength', () => {
  it.each([
    // from the josx64 captures: the valid prefix of instruction[15], the rest is stack garbage
    ['sub rsp,0x28', '4883ec2800000000000000000000000', 4],
    ['movabs rcx', '48b9d776024001000000000000000000', 10],
    ['call rax', 'ffd0a0bf014001000000000000000000', 2],
    ['push r15', '41576778000000003000000000000000', 2],
    ['push rbp', '55000000000000000000000000000000', 1],
    ['invalid', '0f0b', 2],
  ])('%s', (_name, hexBytes, expected) => {
    const bytes = Buffer.from(hexBytes.length % 2 ? hexBytes + '0' : hexBytes, 'hex');
    expect(decodeInstructionLength(bytes, 0x140000000n)).toBe(expected);
  });
  it('returns 0 for bytes that do not decode', () => {
    expect(decodeInstructionLength(Buffer.from([0x0f]), 0n)).toBe(0);
    expect(decodeInstructionLength(Buffer.alloc(0), 0n)).toBe(0);
  });
  it('disassembles in AT&T syntax', () => {
    expect(disassembleOne(Buffer.from('4883ec28', 'hex'), 0n)).toBe('sub $0x28,%rsp');
  });
});
