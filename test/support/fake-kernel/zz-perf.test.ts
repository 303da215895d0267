import { Machine } from '/work/main/test/support/fake-kernel/machine';
test('perf', () => {
  const m = Machine.boot();
  const t = process.hrtime.bigint();
  let n = 0;
  for (; n < 200000; n++) { const r = m.step(); if (r.kind !== 'ok') throw new Error(JSON.stringify(r, (_, v) => typeof v === 'bigint' ? v.toString(16) : v)); }
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(`${n} insns in ${ms.toFixed(0)} ms = ${(n / ms * 1000).toFixed(0)}/s; rip=${m.rip.toString(16)}`);
});
