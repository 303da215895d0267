#!/usr/bin/env python3
"""Acceptance test for stub-uefi: boots it under QEMU + OVMF (run-qemu.sh) and drives the
josx64 debugger protocol (base + josgdb extensions, docs/protocol.md) over the TCP serial port.

    python3 stub-uefi/tools/josx_client.py [--efi build/BOOTX64.EFI] [--only normal|compat]

Python 3 stdlib only; symbol addresses come from `llvm-pdbutil dump --publics` on the PDB.
Every QEMU it starts is killed on exit. Exit status 0 when every check passed.
"""
import argparse, json, os, re, shutil, signal, socket, struct, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
STUB = os.path.dirname(HERE)

# packet ids
CONTINUE, TRACE, KCI, BREAKPOINT, READ, WRITE, GPF = 0, 1, 2, 3, 4, 5, 6
TRACESTEP, PAGETABLE, ASSERT, RDMSR, UD, UPDATEBP, CALLSTACK, SINGLESTEP, PF, CPUID = 8, 9, 10, 11, 12, 13, 14, 15, 16, 17
X_WRITEREGS, X_BREAKIN, X_SAFEREAD, X_SAFEWRITE, X_HWBP, X_RANGESTEP, X_READCTX, X_RESET = range(0x40, 0x48)
X_EXCEPTION, X_HWSTOP = 0x50, 0x52
RESP = 0x800
STOP_IDS = {BREAKPOINT, GPF, UD, PF, X_EXCEPTION, X_HWSTOP, X_BREAKIN + RESP}
REGS = "rdi rsi rbp rdx rcx rbx rax r15 r14 r13 r12 r11 r10 r9 r8 handler_id error_code rip cs rflags rsp ss".split()

RESULTS = []


def check(cond, what):
    RESULTS.append((bool(cond), what))
    print(("PASS " if cond else "FAIL ") + what, flush=True)
    return bool(cond)


class Stop:
    def __init__(self, pid, body):
        self.pid = pid
        self.slot = self.dr6 = None
        if pid == X_HWSTOP:
            self.slot, self.dr6 = struct.unpack_from("<BQ", body, 0)
            body = body[9:]
        vals = struct.unpack_from("<22Q", body, 0)
        self.regs = dict(zip(REGS, vals))
        self.frame = body[:176]
        self.instruction = body[176:191]
        self.cr0, self.cr2, self.cr3, self.cr4 = struct.unpack_from("<4Q", body, 191)
        (self.call_stack_size,) = struct.unpack_from("<H", body, 223)
        self.callstack = []

    def __getattr__(self, k):
        r = self.__dict__.get("regs", {})
        if k in r:
            return r[k]
        raise AttributeError(k)

    def __repr__(self):
        return "Stop(id=0x%x hid=%d rip=0x%x rsp=0x%x)" % (self.pid, self.handler_id, self.rip, self.rsp)


class Symbols:
    def __init__(self, efi, pdb):
        data = open(efi, "rb").read()
        self.image = data
        pe = struct.unpack_from("<I", data, 0x3C)[0]
        nsec = struct.unpack_from("<H", data, pe + 6)[0]
        optsz = struct.unpack_from("<H", data, pe + 20)[0]
        self.sections = []
        off = pe + 24 + optsz
        for i in range(nsec):
            name = data[off:off + 8].rstrip(b"\0").decode()
            vsize, va, rawsize, rawptr = struct.unpack_from("<IIII", data, off + 8)
            self.sections.append((name, va, vsize, rawptr, rawsize))
            off += 40
        self.rva = {}
        out = subprocess.run(["llvm-pdbutil", "dump", "--publics", pdb], capture_output=True, text=True).stdout
        for m in re.finditer(r"`([^`]+)`\s+flags = [^,]*, addr = (\d+):(\d+)", out):
            sec, o = int(m.group(2)), int(m.group(3))
            if 1 <= sec <= len(self.sections):
                self.rva[m.group(1)] = self.sections[sec - 1][1] + o

    def file_bytes(self, rva, n):
        for name, va, vsize, rawptr, rawsize in self.sections:
            if va <= rva < va + rawsize:
                return self.image[rawptr + rva - va: rawptr + rva - va + n]
        return None


class Target:
    def __init__(self, port, log=None):
        self.port = port
        self.sock = None
        self.buf = b""
        self.traces = []
        self.log = log

    def connect(self, timeout=20):
        t0 = time.time()
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=1)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return
            except OSError:
                if time.time() - t0 > timeout:
                    raise
                time.sleep(0.1)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        try:
            d = self.sock.recv(65536)
        except socket.timeout:
            return False
        if not d:
            raise EOFError("connection closed")
        self.buf += d
        return True

    def wait_text(self, marker, timeout=60):
        """pre-handshake: read raw text until marker, return everything read"""
        t0 = time.time()
        while marker not in self.buf:
            if time.time() - t0 > timeout:
                raise TimeoutError("no %r in %r" % (marker, self.buf[-300:]))
            self._fill(0.5)
        i = self.buf.index(marker) + len(marker)
        text, self.buf = self.buf[:i], self.buf[i:]
        return text

    def send(self, pid, body=b"", extra=b""):
        self.sock.sendall(struct.pack("<II", pid, len(body)) + body + extra)

    def recv(self, timeout=10, keep_traces=False):
        t0 = time.time()
        while True:
            if len(self.buf) >= 8:
                pid, ln = struct.unpack_from("<II", self.buf, 0)
                if len(self.buf) >= 8 + ln:
                    body = self.buf[8:8 + ln]
                    self.buf = self.buf[8 + ln:]
                    if pid == TRACE and not keep_traces:
                        t = body.decode("latin-1")
                        self.traces.append(t)
                        if self.log:
                            print("    trace: " + t, flush=True)
                        continue
                    return pid, body
            left = timeout - (time.time() - t0)
            if left <= 0:
                return None, None
            self._fill(min(left, 0.5))

    def expect(self, pid, timeout=10):
        p, b = self.recv(timeout)
        if p != pid:
            raise AssertionError("expected packet 0x%x, got %s (%s)" % (pid, None if p is None else hex(p), b[:64] if b else b))
        return b

    def stop(self, timeout=15):
        p, b = self.recv(timeout)
        if p is None:
            return None
        if p not in STOP_IDS:
            raise AssertionError("expected a stop, got 0x%x %r" % (p, b[:80]))
        s = Stop(p, b)
        if p == BREAKPOINT and s.call_stack_size:
            cs = self.expect(CALLSTACK)
            s.callstack = list(struct.unpack("<%dQ" % (len(cs) // 8), cs))
        return s

    # requests
    def read(self, addr, n):
        self.send(READ, struct.pack("<QI", addr, n))
        return self.expect(READ + RESP) if n else None

    def write(self, addr, data):
        self.send(WRITE, struct.pack("<QI", addr, len(data)), data)

    def update_bps(self, entries):
        self.send(UPDATEBP, b"".join(struct.pack("<QB", a, s) for a, s in entries))

    def cpuid(self, leaf, sub=0):
        self.send(CPUID, struct.pack("<II", leaf, sub))
        return struct.unpack("<6I", self.expect(CPUID + RESP))

    def safe_read(self, addr, n):
        self.send(X_SAFEREAD, struct.pack("<QI", addr, n))
        b = self.expect(X_SAFEREAD + RESP)
        st, cnt = struct.unpack_from("<II", b)
        return st, cnt, b[8:]

    def safe_write(self, addr, data):
        self.send(X_SAFEWRITE, struct.pack("<QI", addr, len(data)) + data)
        return struct.unpack("<II", self.expect(X_SAFEWRITE + RESP))

    def hwbp(self, slot, kind, length, enable, addr):
        self.send(X_HWBP, struct.pack("<BBBBQ", slot, kind, length, enable, addr))
        return struct.unpack("<I", self.expect(X_HWBP + RESP))[0]

    def write_regs(self, frame_bytes):
        self.send(X_WRITEREGS, frame_bytes)
        return struct.unpack("<I", self.expect(X_WRITEREGS + RESP))[0]

    def sync(self):
        """round trip to make sure everything before was processed"""
        return self.cpuid(0)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Qemu:
    def __init__(self, efi, compat):
        self.port = free_port()
        self.rundir = tempfile.mkdtemp(prefix="stub-uefi-test.")
        cmd = [os.path.join(STUB, "run-qemu.sh"), "--port", str(self.port), "--efi", efi, "--rundir", self.rundir]
        if compat:
            cmd.append("--compat")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.rundir, "qemu.stderr"), "w"))

    def kill(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.rundir, ignore_errors=True)


def handshake(t):
    noise = t.wait_text(b"[debugger] waiting for connection\r\n\x00", timeout=90)
    check(b"[kernel] " in noise and b"\r\n\x00" in noise, "pre-handshake plain-text trace lines ([channel] message CR LF NUL)")
    # the matcher quirk: "jjosx" must not connect, "xxjosx" must
    t.sock.sendall(b"jjosx")
    p, _ = t.recv(1.5)
    check(p is None, "'jjosx' does not connect (josx64 matcher quirk)")
    t.sock.sendall(b"xxjosx")
    body = t.expect(KCI, 10)
    info = json.loads(body.decode("latin-1"))
    return info


def continue_to(t, timeout=15):
    t.send(CONTINUE)
    return t.stop(timeout)


def set_u32(t, sym, addr, v):
    t.write(addr, struct.pack("<I", v))


# ---------------------------------------------------------------------------------------------
def normal_session(efi, syms):
    print("== normal mode", flush=True)
    q = Qemu(efi, False)
    try:
        t = Target(q.port, log=True)
        t.connect()
        info = handshake(t)
        base = info["image_info"]["base"]
        A = lambda name: base + syms.rva[name]
        check(info["version"] == {"major": 0, "minor": 1, "patch": 0}, "KCI version 0.1.0")
        check(info["image_info"]["entry_point"] == A("efi_main"), "KCI entry_point = efi_main")
        si = info["system_info"]
        check(si["processors"] >= 1 and si["memory"] > 0 and len(si["vendor"]) == 12, "KCI system_info %r" % si)
        feats = info.get("features")
        want = ["write-registers", "break-in", "safe-memory", "hw-breakpoints", "range-step", "full-context", "reset", "all-exceptions"]
        check(feats is not None and sorted(feats) == sorted(want), "KCI features %r" % feats)

        s = t.stop()
        check(s and s.pid == BREAKPOINT and s.handler_id == 3 and s.rip == A("main"), "first stop: Breakpoint at main (%r)" % s)
        check(s.call_stack_size > 0 and len(s.callstack) == s.call_stack_size and all(syms_in_text(syms, base, v) for v in s.callstack),
              "BreakpointCallstack after main bp: %s" % [hex(v) for v in s.callstack])
        check(any(tr.startswith("[debugger] connected") for tr in t.traces), "Trace packets after handshake")
        orig_main = syms.file_bytes(syms.rva["main"], 16)
        check(t.read(A("main"), 16) == orig_main, "ReadTargetMemory at the hit bp shows the original bytes")
        check(s.instruction[:4] == orig_main[:4], "StopRecord instruction bytes")
        check(t.read(base, 2) == b"MZ", "ReadTargetMemory image base = MZ")
        t.send(READ, struct.pack("<QI", A("main"), 0))
        r = t.cpuid(0)
        check(r[0] == 0, "ReadTargetMemory length 0: no reply (next reply is CPUID)")
        vendor = struct.pack("<III", r[3], r[5], r[4]).decode()
        check(vendor == si["vendor"], "CPUID leaf 0 vendor %s" % vendor)
        t.send(RDMSR, struct.pack("<I", 0x1B))
        msr, lo, hi = struct.unpack("<III", t.expect(RDMSR + RESP))
        check(msr == 0x1B and (lo & 0xFFFFF000) == 0xFEE00000, "RDMSR IA32_APIC_BASE = 0x%x" % lo)
        t.send(PAGETABLE, struct.pack("<Q", A("main")))
        pt = struct.unpack("<5Q", t.expect(PAGETABLE + RESP))
        check(pt[0] == A("main") and pt[1] & 1 and pt[2] & 1, "TraversePageTable main: %s" % [hex(x) for x in pt])
        t.send(0x7F)
        t.sync()
        check(any("unhandled packet id 127, length 0" in x for x in t.traces), "unknown id traced")

        # TraceStep / SingleStep (over a call)
        t.send(TRACESTEP)
        s2 = t.stop()
        check(s2.pid == BREAKPOINT and s2.handler_id == 1 and s2.rip != s.rip and s2.rip - s.rip < 16, "TraceStep: handler_id 1, rip 0x%x" % s2.rip)
        stepped_over = False
        for i in range(12):
            ins = t.read(s2.rip, 16)
            is_call = ins[0] == 0xE8
            t.send(SINGLESTEP)
            s3 = t.stop()
            if is_call:
                check(s3.rip == s2.rip + 5 and s3.rsp == s2.rsp, "SingleStep over CALL at 0x%x -> 0x%x" % (s2.rip, s3.rip))
                stepped_over = True
                break
            s2 = s3
        check(stepped_over, "found a CALL to step over")

        # software breakpoints
        t.update_bps([(A("demo_leaf"), 0)])
        s = continue_to(t)
        check(s and s.handler_id == 3 and s.rip == A("demo_leaf"), "UpdateBreakpoints + Continue: stop at demo_leaf (%r)" % s)
        check(any(A("demo_c") <= v < A("demo_c") + 64 for v in s.callstack), "callstack of demo_leaf contains a return into demo_c")
        s = continue_to(t)
        check(s and s.rip == A("demo_leaf"), "breakpoint re-armed silently: demo_leaf hit again")
        t.update_bps([(A("demo_leaf"), 1), (A("demo_b"), 0)])
        s = continue_to(t)
        check(s and s.rip == A("demo_b"), "disable demo_leaf, enable demo_b: stop at demo_b")
        rb = t.read(A("demo_leaf"), 1)
        check(rb == syms.file_bytes(syms.rva["demo_leaf"], 1), "disabled bp: original byte in memory")
        t.update_bps([(A("demo_leaf"), 0)])
        check(t.read(A("demo_leaf"), 1) == b"\xcc", "another enabled breakpoint reads as 0xCC")
        # flaw 2 absent: state 2 removes
        t.update_bps([(A("demo_leaf"), 2)])
        check(t.read(A("demo_leaf"), 1) != b"\xcc", "cleared (state 2) breakpoint removed")
        # flaw 5 absent: SingleStep transient does not block a later bp at that address
        # WriteTargetMemory / read back (g_point.y)
        t.write(A("g_point") + 4, struct.pack("<i", 1234))
        check(struct.unpack("<i", t.read(A("g_point") + 4, 4))[0] == 1234, "WriteTargetMemory g_point.y = 1234")
        # normal-mode guarded ReadTargetMemory of an unmapped address does not wedge
        d = t.read(0x00007FFFFFFFF000, 8)
        check(d == b"\0" * 8, "ReadTargetMemory of an unmapped address: zeros, target alive")
        t.sync()

        # flaw 1 / 6 absent: TraceStep off a 1-byte push at demo_frame
        t.update_bps([])
        t.update_bps([(A("demo_frame"), 0)])
        s = continue_to(t)
        check(s and s.rip == A("demo_frame"), "stop at demo_frame")
        first = t.read(A("demo_frame"), 1)[0]
        t.send(TRACESTEP)
        s2 = t.stop()
        if 0x50 <= first <= 0x57 or first in (0x41,):
            check(s2.rip > A("demo_frame") and s2.rsp == s.rsp - 8, "TraceStep off bp at a 1-byte push: rip advanced (no flaw 1)")
        else:
            check(s2.rip > A("demo_frame"), "TraceStep off bp: rip advanced")
        # flaw 6 absent: step onto an armed breakpoint stops once
        nxt_rip = s2.rip
        t.update_bps([(A("demo_frame"), 1)])
        t.update_bps([])
        t.update_bps([(A("demo_b"), 0)])
        s = continue_to(t)
        t.send(TRACESTEP)
        s2 = t.stop()
        t.update_bps([(A("demo_b"), 0), (s2.rip, 0)])
        s = continue_to(t)  # back at demo_b
        t.send(TRACESTEP)
        s3 = t.stop()
        t.send(TRACESTEP)
        s4 = t.stop()
        check(s3.rip == s2.rip and s4.rip != s3.rip, "stepping onto an armed bp stops once (no flaw 6)")
        t.update_bps([])

        # SingleStep over the recursive call inside demo_factorial: one stop, same frame (transient
        # bp ignored when hit deeper in the recursion); then flaw 5 absent: a bp can be enabled there
        t.update_bps([(A("demo_factorial"), 0)])
        s = continue_to(t)
        t.update_bps([])
        cur, over = s, None
        for i in range(30):
            ins = t.read(cur.rip, 16)
            if ins[0] == 0xE8:
                t.send(SINGLESTEP)
                nxt = t.stop()
                over = (cur, nxt)
                break
            t.send(SINGLESTEP)
            cur = t.stop()
        check(over and over[1].rip == over[0].rip + 5 and over[1].rsp == over[0].rsp,
              "SingleStep over the recursive call in demo_factorial stops once in the same frame %r" % (over,))
        t.update_bps([(over[1].rip, 0)])
        t.send(TRACESTEP)
        s4 = t.stop()
        check(t.read(over[1].rip, 1) == b"\xcc", "bp enabled at the step-over's transient address is armed (no flaw 5)")
        t.update_bps([])

        # ---- extensions
        # write-registers
        s = s4
        fr = bytearray(s.frame)
        struct.pack_into("<Q", fr, REGS.index("r11") * 8, 0x1122334455667788)
        check(t.write_regs(bytes(fr)) == 0, "WriteRegisters status 0")
        t.send(TRACESTEP)
        s5 = t.stop()
        check(s5.r11 == 0x1122334455667788 or s5.rip != s.rip, "WriteRegisters r11 visible after a step (r11=0x%x)" % s5.r11)
        check(t.write_regs(b"\0" * 10) == 1, "WriteRegisters with a bad length -> status 1")
        # full-context
        t.send(X_READCTX)
        c = t.expect(X_READCTX + RESP)
        cs, ds, es, fs, gs, ss = struct.unpack_from("<6H", c, 0)
        mxcsr = struct.unpack_from("<I", c, 84 + 24)[0]
        check(len(c) == 596 and cs == s5.cs and ss == s5.ss and (mxcsr & 0xFFC0) == 0x1F80, "ReadContext 596 bytes, cs 0x%x mxcsr 0x%x" % (cs, mxcsr))
        # safe-memory
        st, cnt, data = t.safe_read(A("main"), 16)
        check(st == 0 and cnt == 16 and data == orig_main, "SafeRead main")
        st, cnt, data = t.safe_read(0x00007FFFFFFFF000, 16)
        check(st == 1 and cnt == 0, "SafeRead unmapped -> status 1 count 0")
        st, cnt, data = t.safe_read(0x8000000000000000, 16)
        check(st == 2 and cnt == 0, "SafeRead non-canonical -> status 2")
        boundary = None
        for bits in range(32, 47):
            if not walk_present(t, 1 << bits):
                boundary = 1 << bits
                break
        if boundary and walk_present(t, boundary - 8):
            st, cnt, data = t.safe_read(boundary - 8, 16)
            check(st == 1 and cnt == 8, "SafeRead crossing into unmapped at 0x%x -> status 1 count 8 (%d, %d)" % (boundary, st, cnt))
        else:
            check(False, "found no mapped/unmapped boundary for the crossing SafeRead")
        st, cnt, data = t.safe_read(A("main"), 65537)
        check(st == 3 and cnt == 0, "SafeRead too long -> status 3")
        code = syms.file_bytes(syms.rva["demo_busy_loop"], 4)
        st, cnt = t.safe_write(A("demo_busy_loop"), code)
        check(st == 0 and cnt == 4, "SafeWrite into a code page (status %d count %d)" % (st, cnt))
        st, cnt = t.safe_write(0x00007FFFFFFFF000, b"abcd")
        check(st == 1 and cnt == 0, "SafeWrite unmapped -> status 1")
        # hw breakpoints
        check(t.hwbp(5, 0, 1, 1, A("demo_c")) == 1, "SetHwBreakpoint bad slot -> 1")
        check(t.hwbp(0, 0, 4, 1, A("demo_c")) == 1, "SetHwBreakpoint execute with length 4 -> 1")
        check(t.hwbp(1, 0, 1, 1, A("demo_c")) == 0, "SetHwBreakpoint slot 1 execute demo_c")
        s = continue_to(t)
        check(s and s.pid == X_HWSTOP and s.slot == 1 and s.rip == A("demo_c") and s.dr6 & 2, "HwBreakpoint stop slot 1 at demo_c (%r slot %s)" % (s, s and s.slot))
        check(t.hwbp(1, 0, 1, 0, 0) == 0, "clear slot 1")
        check(t.hwbp(2, 1, 8, 1, A("g_counter")) == 0, "SetHwBreakpoint slot 2 write g_counter")
        s = continue_to(t)
        check(s and s.pid == X_HWSTOP and s.slot == 2 and s.dr6 & 4 and A("main") <= s.rip < A("main") + 0x200,
              "write watchpoint on g_counter fires in main (%r)" % s)
        check(t.hwbp(2, 1, 8, 0, 0) == 0, "clear slot 2")
        # range-step: step through main's loop body from the watchpoint stop until rip leaves [rip, rip+3)
        lo = s.rip
        t.send(X_RANGESTEP, struct.pack("<QQ", lo, lo + 1))
        s2 = t.stop()
        check(s2 and s2.pid == BREAKPOINT and s2.handler_id == 1 and not (lo <= s2.rip < lo + 1), "RangeStep [rip, rip+1) -> one stop")
        t.update_bps([(A("demo_factorial"), 0)])
        s = continue_to(t)
        check(s and s.rip == A("demo_factorial"), "stop at demo_factorial")
        t.update_bps([])
        ret = struct.unpack("<Q", t.read(s.rsp, 8))[0]
        t.send(X_RANGESTEP, struct.pack("<QQ", A("demo_factorial"), A("demo_frame")))
        s2 = t.stop(30)
        check(s2 and s2.handler_id == 1 and s2.rip == ret, "RangeStep over the whole recursive demo_factorial -> stops at the return address 0x%x (%r)" % (ret, s2))
        # break-in
        t.send(CONTINUE)
        time.sleep(0.5)
        t.send(X_BREAKIN)
        s = t.stop(5)
        check(s and s.pid == X_BREAKIN + RESP and s.handler_id >= 32, "BreakIn -> 0x841 stop, handler_id %s rip %s" % (s and hex(s.handler_id), s and hex(s.rip)))
        t.send(X_BREAKIN)  # while stopped: consumed and ignored
        t.sync()
        ok = 0
        for i in range(10):
            t.send(CONTINUE)
            time.sleep(0.05 * (i % 4))
            t.send(X_BREAKIN)
            s = t.stop(5)
            ok += bool(s and s.pid == X_BREAKIN + RESP)
        check(ok == 10, "10 Continue/BreakIn cycles: %d stops" % ok)
        # busy loop + break-in
        t.write(A("g_trigger"), struct.pack("<i", 7))
        t.send(CONTINUE)
        time.sleep(0.5)
        t.send(X_BREAKIN)
        s = t.stop(5)
        check(s and s.pid == X_BREAKIN + RESP and A("demo_busy_loop") <= s.rip < A("demo_fault"), "BreakIn in the busy loop (rip %s)" % (s and hex(s.rip)))
        t.write(A("g_trigger"), struct.pack("<i", 0))
        # faults
        for trig, pid, name in [(1, PF, "#PF"), (2, GPF, "#GP"), (3, UD, "#UD"), (6, X_EXCEPTION, "#DE (all-exceptions)")]:
            t.write(A("g_trigger"), struct.pack("<i", trig))
            s = continue_to(t)
            ok = s and s.pid == pid and s.call_stack_size == 0 and A("demo_fault") <= s.rip < A("demo_fault") + 0x100
            if trig == 1:
                ok = ok and s.cr2 == 0x00007FFFFFFFF000 and s.handler_id == 14
            if trig == 6:
                ok = ok and s.handler_id == 0
            check(ok, "g_trigger=%d -> %s stop (%r)" % (trig, name, s))
            # continue from the unresolved fault: task restarts (no flaw 7)
            t.update_bps([(A("demo_a"), 0)])
            s = continue_to(t)
            check(s and s.rip == A("demo_a"), "continue after %s: no re-fault, demo_a reached" % name)
            t.update_bps([])
        t.write(A("g_trigger"), struct.pack("<i", 5))
        s = continue_to(t)
        check(s and s.pid == BREAKPOINT and s.handler_id == 3 and t.read(s.rip - 1, 1) == b"\xcc", "g_trigger=5 -> compiled int3, rip after it")
        t.write(A("g_trigger"), struct.pack("<i", 4))
        t.send(CONTINUE)
        p, b = t.recv(10)
        aj = json.loads(b.decode("latin-1")) if p == ASSERT else None
        check(p == ASSERT and aj["assert"]["cond"] == "g_point.x == -1", "g_trigger=4 -> Assert %r" % aj)
        t.send(CONTINUE)  # cannot resume
        r = t.cpuid(1)
        check(r[0] == 1, "after assert the target still answers commands")
        # reset
        t.send(X_RESET)
        t0 = time.time()
        noise = t.wait_text(b"[debugger] waiting for connection\r\n\x00", timeout=90)
        check(b"[kernel] stub-uefi starting" in noise, "Reset: machine rebooted (%.1f s)" % (time.time() - t0))
        t.sock.sendall(b"josx")
        info2 = json.loads(t.expect(KCI, 10).decode("latin-1"))
        s = t.stop()
        check(s and s.rip == info2["image_info"]["base"] + syms.rva["main"], "after reset: handshake again, bp at main")
    finally:
        q.kill()


def walk_present(t, addr):
    t.send(PAGETABLE, struct.pack("<Q", addr))
    a, e0, e1, e2, e3 = struct.unpack("<5Q", t.expect(PAGETABLE + RESP))
    if not e0 & 1 or not e1 & 1:
        return False
    if e1 & 0x80:
        return True
    if not e2 & 1:
        return False
    return bool(e2 & 0x80 or e3 & 1)


def syms_in_text(syms, base, v):
    for name, va, vsize, rawptr, rawsize in syms.sections:
        if name == ".text":
            return base + va <= v < base + va + vsize
    return False


# ---------------------------------------------------------------------------------------------
def compat_boot(efi, syms):
    q = Qemu(efi, True)
    t = Target(q.port, log=True)
    t.connect()
    info = handshake(t)
    base = info["image_info"]["base"]
    s = t.stop()
    return q, t, base, s


def compat_session(efi, syms):
    print("== compat mode, boot 1", flush=True)
    q, t, base, s = compat_boot(efi, syms)
    A = lambda name: base + syms.rva[name]
    try:
        check(s and s.rip == A("main") and s.handler_id == 3, "compat: bp at main")
        t.send(X_READCTX)
        t.sync()
        check(any("unhandled packet id 70, length 0" in x for x in t.traces), "compat: extension id 0x46 is an unknown id")
        # flaw 5: SingleStep's transient bp stays in the list
        call_at = None
        cur = s
        for i in range(12):
            ins = t.read(cur.rip, 16)
            if ins[0] == 0xE8:
                call_at = cur.rip
                t.send(SINGLESTEP)
                cur = t.stop()
                break
            t.send(SINGLESTEP)
            cur = t.stop()
        ret_addr = call_at + 5
        check(cur.rip == ret_addr and cur.handler_id == 3, "compat: SingleStep over call -> Breakpoint handler_id 3 after the call")
        t.update_bps([(ret_addr, 0)])
        check(t.read(ret_addr, 1) != b"\xcc", "compat flaw 5: enabling a bp at the old transient address does nothing")
        t.update_bps([])
        # flaw 2: state 2 does not really remove
        t.update_bps([(A("demo_a"), 0), (A("demo_b"), 0)])
        t.update_bps([(A("demo_a"), 2)])
        t.update_bps([(A("demo_b"), 2)])
        t.update_bps([(A("demo_b"), 0)])
        check(t.read(A("demo_b"), 1) != b"\xcc", "compat flaw 2: after clear A, clear B, enable B: B is not armed")
        t.update_bps([])
        # flaw 3: changing bps while stopped at one leaves a stray 0xCC at the stop address
        t.update_bps([(A("demo_c"), 0)])
        s = continue_to(t)
        check(s and s.rip == A("demo_c"), "compat: stop at demo_c")
        t.update_bps([])
        t.update_bps([(A("demo_leaf"), 0)])
        s = continue_to(t)
        check(s and s.rip == A("demo_leaf"), "compat: stop at demo_leaf")
        stray = t.read(A("demo_c"), 1)
        check(stray == b"\xcc", "compat flaw 3: stray 0xCC left at demo_c (not in the list)")
        t.write(A("demo_c"), syms.file_bytes(syms.rva["demo_c"], 1))  # repair (the documented workaround)
        check(t.read(A("demo_c"), 1) == syms.file_bytes(syms.rva["demo_c"], 1), "compat: stray 0xCC repaired with WriteTargetMemory")
        t.send(TRACESTEP)  # step off the hit bp before changing the list (flaw 3 workaround)
        t.stop()
        t.update_bps([])
        # flaw 6: stepping onto an armed bp stops there twice (use demo_b: first instruction >1 byte?)
        t.update_bps([(A("demo_a"), 0)])
        s = continue_to(t)
        t.send(TRACESTEP)
        s2 = t.stop()
        if s2.rip - s.rip > 1:
            t.update_bps([])
            t.update_bps([(A("demo_leaf"), 0)])
            s = continue_to(t)
            t.send(TRACESTEP)  # step off the hit bp before changing the list (flaw 3)
            t.stop()
            t.update_bps([])
            t.update_bps([(A("demo_a"), 0), (s2.rip, 0)])
            s = continue_to(t)
            t.send(TRACESTEP)
            s3 = t.stop()
            t.send(TRACESTEP)
            s4 = t.stop()
            check(s3.rip == s2.rip and s4.rip == s2.rip and s3.handler_id == 1 and s4.handler_id == 3,
                  "compat flaw 6: stepping onto an armed bp stops twice (%r, %r)" % (s3, s4))
        else:
            check(False, "compat flaw 6: demo_a starts with a 1-byte instruction, test not applicable")
        t.update_bps([])
        # flaw 7: continue after a fault faults again
        t.write(A("g_trigger"), struct.pack("<i", 3))
        s = continue_to(t)
        check(s and s.pid == UD, "compat: g_trigger=3 -> UD")
        s2 = continue_to(t)
        check(s2 and s2.pid == UD and s2.rip == s.rip, "compat flaw 7: Continue after a fault faults again at the same rip")
    finally:
        q.kill()

    print("== compat mode, boot 2 (flaw 1)", flush=True)
    q, t, base, s = compat_boot(efi, syms)
    try:
        first = t.read(A("demo_frame"), 1)[0]
        t.update_bps([(A("demo_frame"), 0)])
        s = continue_to(t)
        t.send(TRACESTEP)
        s2 = t.stop()
        check(0x50 <= first <= 0x57 and s2.rip == A("demo_frame") and s2.handler_id == 1 and s2.rsp == s.rsp - 8,
              "compat flaw 1: TraceStep off a bp on a 1-byte push reports the old rip although the push ran (%r -> %r)" % (s, s2))
    finally:
        q.kill()

    print("== compat mode, boot 3 (flaw 4, unguarded read)", flush=True)
    q, t, base, s = compat_boot(efi, syms)
    try:
        t.write(A("demo_c"), b"\xcc")
        s = continue_to(t)
        check(s and s.pid == BREAKPOINT and s.rip == A("demo_c") + 1, "compat flaw 4: a 0xCC written with WriteTargetMemory is reported with rip after it")
        t.send(READ, struct.pack("<QI", 0x00007FFFFFFFF000, 8))
        t0 = time.time()
        while len(t.buf) < 16 + 225 and time.time() - t0 < 5:
            t._fill(0.5)
        h1 = struct.unpack_from("<II", t.buf, 0)
        h2 = struct.unpack_from("<II", t.buf, 8)
        check(h1 == (READ + RESP, 8) and h2 == (PF, 225), "compat: unmapped read wedges: 0x804 header, no body, then PF %s %s" % (h1, h2))
    finally:
        q.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--efi", default=os.path.join(STUB, "build", "BOOTX64.EFI"))
    ap.add_argument("--only", choices=["normal", "compat"])
    a = ap.parse_args()
    pdb = os.path.splitext(a.efi)[0] + ".pdb"
    if not os.path.exists(a.efi):
        subprocess.run(["make", "-C", STUB], check=True)
    syms = Symbols(a.efi, pdb)
    try:
        if a.only in (None, "normal"):
            normal_session(a.efi, syms)
        if a.only in (None, "compat"):
            compat_session(a.efi, syms)
    except Exception as e:
        import traceback
        traceback.print_exc()
        check(False, "exception: %r" % e)
    failed = [w for ok, w in RESULTS if not ok]
    print("\n%d checks, %d failed" % (len(RESULTS), len(failed)))
    for w in failed:
        print("  FAIL " + w)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
