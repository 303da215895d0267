/**
 * The scripted gdb session `josgdb demo` runs against the stub: what a new user
 * should see in their first minute. gdb starts with no file: names, lines,
 * types and unwind rules all come from josgdb over the connection.
 */
export interface TourStep {
  command: string;
  /** What the output must show for the step to count as done. */
  expect?: RegExp;
  /** For the failure message: what the step demonstrates. */
  what: string;
}

export function demoTour(options: { hardwareWatchpoints: boolean }): TourStep[] {
  return [
    { command: 'info symbol $pc', expect: /main in section \.text/, what: 'the kernel stops at its main after the handshake, and gdb knows the name' },
    { command: 'break demo_leaf', expect: /Breakpoint 1 at 0x[0-9a-f]+: file .*workload\.c, line \d+/, what: 'a breakpoint by function name' },
    { command: 'continue', expect: /Breakpoint 1, demo_leaf \(v=\d+\) at .*workload\.c:\d+/, what: 'continue runs to demo_leaf, with its argument' },
    { command: 'bt', expect: /#0 +demo_leaf[\s\S]*#1 .*demo_c[\s\S]*#2 .*demo_b[\s\S]*#3 .*demo_a[\s\S]*#4 .*main/, what: 'the whole call chain' },
    { command: 'monitor bt', expect: /demo_leaf[\s\S]*\[unwind-info\]/, what: "josgdb's own backtrace says how each frame was found" },
    { command: 'finish', expect: /Value returned is \$\d+ = \d+/, what: 'finish returns to demo_c with the value' },
    { command: 'print g_point', expect: /= \{x = -?\d+, y = 4, name = 0x[0-9a-f]+ "origin"\}/, what: 'a global struct, from the PDB types' },
    { command: 'print g_table', expect: /= \{1, 1, 2, 3, 5, 8, 13, 21\}/, what: 'a global array' },
    { command: 'ptype struct demo_point', expect: /int x;\s+int y;\s+const char \*name;/, what: 'a type' },
    { command: 'set var g_counter = 1000000', what: 'a write to a global by name' },
    { command: 'print g_counter', expect: /= 1000000/, what: 'the write reads back' },
    { command: 'delete', what: 'breakpoints removed' },
    ...(options.hardwareWatchpoints
      ? [
          { command: 'watch g_counter', expect: /Hardware watchpoint 2: g_counter/, what: 'a hardware watchpoint by name' },
          { command: 'continue', expect: /Hardware watchpoint 2: g_counter\s+Old value = 1000000\s+New value = 1000001/, what: 'the watchpoint fires when main increments g_counter' },
          { command: 'delete', what: 'watchpoint removed' },
        ]
      : []),
    { command: 'stepi', expect: /0x[0-9a-f]+\s+\d+\s|in \w+ \(/, what: 'one instruction step' },
    { command: 'x/3i $pc', expect: /=> 0x[0-9a-f]+ <\w+(\+\d+)?>:/, what: 'disassembly at rip, with names' },
    { command: 'detach', expect: /detached/, what: 'detach leaves the kernel running without breakpoints' },
  ];
}
