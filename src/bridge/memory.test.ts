import { MemoryPort, PageWalk, TargetMemory, walkIsPresent } from './memory';
import { isJosgdbError } from '../common/errors';

const mapped4k: PageWalk = { pml4e: 0x1003n, pdpte: 0x2003n, pde: 0x3003n, pte: 0x4003n };
const unmapped: PageWalk = { pml4e: 0x1003n, pdpte: 0x2003n, pde: 0x3003n, pte: 0n };

/** A memory port over a flat buffer at `base`, with one unmapped page, counting calls. */
function fakePort(base: bigint, bytes: Buffer, unmappedPage?: bigint) {
  const calls = { reads: [] as [bigint, number][], walks: 0, writes: 0 };
  const port: MemoryPort = {
    async readMemory(address, length) {
      calls.reads.push([address, length]);
      const off = Number(address - base);
      return Buffer.from(bytes.subarray(off, off + length));
    },
    async writeMemory(address, data) {
      calls.writes++;
      data.copy(bytes, Number(address - base));
    },
    async pageWalk(address) {
      calls.walks++;
      return address === unmappedPage ? unmapped : mapped4k;
    },
  };
  return { port, calls };
}

describe('walkIsPresent', () => {
  it.each([
    ['4 KiB page present', mapped4k, true],
    ['pte not present', unmapped, false],
    ['2 MiB page (PS in PDE, as josx64 maps its image)', { pml4e: 0x7f802023n, pdpte: 0x7f808023n, pde: 0x1400000e3n, pte: 0n }, true],
    ['1 GiB page', { pml4e: 1n, pdpte: 0x81n, pde: 0n, pte: 0n }, true],
    ['pml4e not present', { pml4e: 0n, pdpte: 0n, pde: 0n, pte: 0n }, false],
  ])('%s', (_name, walk, expected) => expect(walkIsPresent(walk)).toBe(expected));
});

describe('TargetMemory', () => {
  const base = 0x140000000n;
  const image = Buffer.alloc(0x3000, 0x90);

  it('serves a repeated read from the per-stop cache and the stop record seed', async () => {
    const { port, calls } = fakePort(base, Buffer.from(image));
    const mem = new TargetMemory(port, () => []);
    mem.newStop({ code: { address: base + 0x10n, bytes: Buffer.from([0x48, 0x83, 0xec, 0x28]) } });
    expect((await mem.read(base + 0x10n, 4)).toString('hex')).toBe('4883ec28');
    expect(calls.reads).toHaveLength(0);
    await mem.read(base + 0x100n, 16);
    await mem.read(base + 0x104n, 8);
    expect(calls.reads).toEqual([[base + 0x100n, 16]]);
    expect(calls.walks).toBe(0); // the kernel read the instruction bytes there: the page is mapped
    mem.newStop();
    await mem.read(base + 0x104n, 8);
    expect(calls.reads).toHaveLength(2);
    expect(calls.walks).toBe(1); // a new stop without that evidence checks the page again
  });

  it('serves a line across the stack the stop carried below rsp and the bytes kept from the last stop, fetching only the gap', async () => {
    const stack = Buffer.from(Array.from({ length: 0x3000 }, (_, i) => i & 0xff));
    const { port, calls } = fakePort(base, stack);
    const mem = new TargetMemory(port, () => []);
    const rsp = base + 0x1028n;
    mem.newStop({ rsp });
    await mem.read(rsp, 0x18); // cached: [rsp, rsp + 0x18), up to the end of rsp's line
    calls.reads.length = 0;
    // The next stop: a push moved rsp down 8 and wrote there; the trap's bytes below it came with the stop.
    const newRsp = rsp - 8n;
    stack.writeBigUInt64LE(0x1122334455667788n, Number(newRsp - base));
    const below = Buffer.from(stack.subarray(Number(base + 0x1000n - base), Number(newRsp - base)));
    mem.newStop({
      rsp: newRsp,
      carry: { keepFrom: rsp, keepTo: rsp + 0x100n, written: { ranges: [{ address: newRsp, length: 8 }] } },
      stackBelow: { address: base + 0x1000n, bytes: below },
    });
    const line = await mem.read(base + 0x1000n, 0x40);
    expect(line.equals(stack.subarray(0x1000, 0x1040))).toBe(true);
    // below the new rsp from the stop, [old rsp, line end) kept: only the pushed quadword goes to the target
    expect(calls.reads).toEqual([[newRsp, 8]]);
    calls.reads.length = 0;
    expect((await mem.read(base + 0x1000n, 0x40)).equals(line)).toBe(true);
    expect(calls.reads).toEqual([]);
  });

  it('takes the pages the kernel read for the stop as mapped, and walks the others', async () => {
    const { port, calls } = fakePort(base, Buffer.from(image));
    const mem = new TargetMemory(port, () => []);
    mem.newStop({ mapped: [{ address: base + 0xff8n, length: 16 }] }); // a callstack scan across a page boundary
    await mem.read(base + 0x800n, 8);
    await mem.read(base + 0x1800n, 8);
    expect(calls.walks).toBe(0);
    await mem.read(base + 0x2000n, 8);
    expect(calls.walks).toBe(1);
  });

  it('reads ahead on the stack from the third line a stop fetches, doubling, never past the page', async () => {
    const { port, calls } = fakePort(base, Buffer.from(image));
    const mem = new TargetMemory(port, () => []);
    const rsp = base + 0x1e00n;
    mem.newStop({ rsp });
    for (let line = 0n; line < 8n; line++) await mem.read(rsp + line * 64n, 64);
    expect(calls.reads).toEqual([
      [rsp, 64],
      [rsp + 64n, 64],
      [rsp + 128n, 128],
      [rsp + 256n, 256], // lines 4 to 7 come from this one, which ends at the page end
    ]);
    await mem.read(base + 0x2fc0n, 64); // 512 wanted now, but only 0x40 left in that page
    expect(calls.reads[4]).toEqual([base + 0x2fc0n, 0x40]);
    const farAway = base + 0x100n; // not stack: read as asked
    await mem.read(farAway, 8);
    expect(calls.reads[5]).toEqual([farAway, 8]);
  });

  it('with safe-memory, reads plainly only on pages the kernel just read, guarded elsewhere', async () => {
    const { port, calls } = fakePort(base, Buffer.from(image));
    const guarded: bigint[] = [];
    port.safeRead = async (address, length) => {
      guarded.push(address);
      return Buffer.from(image.subarray(Number(address - base), Number(address - base) + length));
    };
    const mem = new TargetMemory(port, () => []);
    mem.newStop({ mapped: [{ address: base + 0x1000n, length: 8 }] });
    await mem.read(base + 0x1100n, 8);
    await mem.read(base + 0x2100n, 8);
    expect(calls.reads).toEqual([[base + 0x1100n, 8]]);
    expect(guarded).toEqual([base + 0x2100n]);
    expect(calls.walks).toBe(0);
  });

  it('never reads an unmapped page and returns the bytes before it', async () => {
    const { port, calls } = fakePort(base, Buffer.from(image), base + 0x2000n);
    const mem = new TargetMemory(port, () => []);
    const data = await mem.read(base + 0x1ff0n, 0x20);
    expect(data.length).toBe(0x10);
    expect(calls.reads.every(([a]) => a < base + 0x2000n)).toBe(true);
    await expect(mem.read(base + 0x2000n, 4)).rejects.toThrow(/not mapped/);
  });

  it('rejects non-canonical addresses without touching the target', async () => {
    const { port, calls } = fakePort(base, Buffer.from(image));
    const mem = new TargetMemory(port, () => []);
    const err = await mem.read(0x800000000000n, 8).catch((e) => e);
    expect(isJosgdbError(err, 'BAD_ADDRESS')).toBe(true);
    expect(calls.walks + calls.reads.length).toBe(0);
  });

  it('hides breakpoint bytes behind their recorded originals', async () => {
    const bytes = Buffer.from(image);
    bytes[0x20] = 0x55;
    const { port } = fakePort(base, bytes);
    const armed = new Set<bigint>();
    const mem = new TargetMemory(port, () => armed);
    await mem.rememberOriginal(base + 0x20n);
    bytes[0x20] = 0xcc; // the kernel armed it
    armed.add(base + 0x20n);
    mem.newStop();
    expect((await mem.read(base + 0x1en, 4)).toString('hex')).toBe('90905590');
  });
});
