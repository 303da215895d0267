/* stub-uefi: the kernel side of the josx64 debugger protocol (base + josgdb extensions),
 * with a compatibility mode that reproduces the josx64 kernel's flaws (see README.md). */
#include "stub.h"

enum {
    P_CONTINUE = 0, P_TRACE = 1, P_KCI = 2, P_BREAKPOINT = 3, P_READ = 4, P_WRITE = 5, P_GPF = 6,
    P_TRACESTEP = 8, P_PAGETABLE = 9, P_ASSERT = 10, P_RDMSR = 11, P_UD = 12, P_UPDATEBP = 13,
    P_CALLSTACK = 14, P_SINGLESTEP = 15, P_PF = 16, P_CPUID = 17, P_MEMMAP = 18, P_HIVEDUMP = 19,
    X_WRITEREGS = 0x40, X_BREAKIN = 0x41, X_SAFEREAD = 0x42, X_SAFEWRITE = 0x43, X_HWBP = 0x44,
    X_RANGESTEP = 0x45, X_READCTX = 0x46, X_RESET = 0x47, X_TRACESTEP_COMPACT = 0x48,
    X_EXCEPTION = 0x50, X_HWSTOP = 0x52, X_COMPACTSTOP = 0x53,
};
#define RESP 0x800
#define TF (1ull << 8)
#define RF (1ull << 16)
#define NO_ADDR (~0ull)

extern uint64_t g_orig_handler[256];
extern int g_orig_present[256];
extern uint64_t g_processors, g_memory_total, g_xsave_size, g_xsave_bitmap;
extern char g_vendor[13], g_hypervisor[13];
extern int g_has_hypervisor, g_has_xsave;
extern uint64_t g_entry_point;

int g_guard_vector;
uint64_t g_guard_cr2;
static int g_in_debugger;
static uint8_t g_buf[65536 + 16];
/* compact-stop: the last stop record sent, which a CompactStop is relative to */
static stop_record_t g_last_record;
static int g_have_last_record;
static int g_compact_next; /* the stop after this TraceStepCompact is sent compact */

/* ------------------------------------------------------------------ low level */
static inline uint64_t read_dr(int n) {
    uint64_t v = 0;
    switch (n) {
    case 0: __asm__ volatile("mov %%dr0,%0" : "=r"(v)); break;
    case 1: __asm__ volatile("mov %%dr1,%0" : "=r"(v)); break;
    case 2: __asm__ volatile("mov %%dr2,%0" : "=r"(v)); break;
    case 3: __asm__ volatile("mov %%dr3,%0" : "=r"(v)); break;
    case 6: __asm__ volatile("mov %%dr6,%0" : "=r"(v)); break;
    case 7: __asm__ volatile("mov %%dr7,%0" : "=r"(v)); break;
    }
    return v;
}
static inline void write_dr(int n, uint64_t v) {
    switch (n) {
    case 0: __asm__ volatile("mov %0,%%dr0" ::"r"(v)); break;
    case 1: __asm__ volatile("mov %0,%%dr1" ::"r"(v)); break;
    case 2: __asm__ volatile("mov %0,%%dr2" ::"r"(v)); break;
    case 3: __asm__ volatile("mov %0,%%dr3" ::"r"(v)); break;
    case 6: __asm__ volatile("mov %0,%%dr6" ::"r"(v)); break;
    case 7: __asm__ volatile("mov %0,%%dr7" ::"r"(v)); break;
    }
}

/* fault-guarded copy: returns count; *status 0 ok, 1 #PF, 2 #GP */
static uint64_t guarded_copy(void *dst, const void *src, uint64_t n, int *status) {
    g_guard_vector = 0;
    uint64_t c = safe_copy(dst, src, n);
    if (status) *status = c == n ? 0 : (g_guard_vector == 14 ? 1 : 2);
    return c;
}
/* writes with CR0.WP cleared so read-only (code) pages can be patched */
static uint64_t guarded_write(uint64_t addr, const void *src, uint64_t n, int *status) {
    uint64_t cr0 = read_cr0();
    write_cr0(cr0 & ~0x10000ull);
    uint64_t c = guarded_copy((void *)addr, src, n, status);
    write_cr0(cr0);
    return c;
}
static void raw_poke(uint64_t addr, uint8_t v) { /* unguarded (compat mode, like josx64) */
    uint64_t cr0 = read_cr0();
    write_cr0(cr0 & ~0x10000ull);
    *(volatile uint8_t *)addr = v;
    write_cr0(cr0);
}
static void read_body(void *buf, uint32_t cap, uint32_t len) {
    uint8_t *b = buf;
    for (uint32_t i = 0; i < len; i++) { uint8_t c = serial_getc(); if (i < cap) b[i] = c; }
    for (uint32_t i = len; i < cap; i++) b[i] = 0;
}

/* length of a CALL instruction at p, 0 if it is not a call */
static int call_length(const uint8_t *p) {
    int i = 0;
    while (i < 14 && (p[i] == 0x66 || p[i] == 0x67 || p[i] == 0xF2 || p[i] == 0xF3 || p[i] == 0x2E || p[i] == 0x36 ||
                      p[i] == 0x3E || p[i] == 0x26 || p[i] == 0x64 || p[i] == 0x65 || (p[i] >= 0x40 && p[i] <= 0x4F)))
        i++;
    if (p[i] == 0xE8) return i + 5;
    if (p[i] != 0xFF) return 0;
    uint8_t m = p[i + 1], mod = m >> 6, reg = (m >> 3) & 7, rm = m & 7;
    if (reg != 2 && reg != 3) return 0;
    int n = i + 2;
    if (mod == 3) return n;
    if (rm == 4) { uint8_t sib = p[n++]; if (mod == 0 && (sib & 7) == 5) n += 4; }
    else if (mod == 0 && rm == 5) n += 4;
    if (mod == 1) n += 1;
    if (mod == 2) n += 4;
    return n;
}

static uint64_t g_callstack[2048];
static uint16_t collect_callstack(uint64_t rsp) {
    if (rsp < g_task_stack_lo || rsp >= g_task_stack_hi) return 0;
    uint16_t n = 0;
    for (uint64_t p = rsp & ~7ull; p < g_task_stack_hi && n < 2048; p += 8) {
        uint64_t v = *(uint64_t *)p;
        if (v >= g_text_lo && v < g_text_hi) g_callstack[n++] = v;
    }
    return n;
}

/* ------------------------------------------------------------------ breakpoints (normal mode) */
enum { HOST_NONE, HOST_EN, HOST_DIS };
typedef struct { uint64_t addr, trsp; uint8_t orig, host, transient, inserted; } bp_t;
#define MAX_BPS 256
static bp_t g_bps[MAX_BPS];
static int g_nbps;

static bp_t *bp_find(uint64_t a) { for (int i = 0; i < g_nbps; i++) if (g_bps[i].addr == a) return &g_bps[i]; return 0; }
static bp_t *bp_get(uint64_t a) {
    bp_t *b = bp_find(a);
    if (b) return b;
    if (g_nbps >= MAX_BPS) { trace("debugger", "too many breakpoints, 0x%llx ignored", a); return 0; }
    b = &g_bps[g_nbps++];
    memset(b, 0, sizeof(*b)); b->addr = a;
    return b;
}
static int bp_wanted(const bp_t *b) { return b->host == HOST_EN || b->transient; }
/* make memory match the table: every wanted breakpoint is a 0xCC except the one at skip */
static void bp_sync(uint64_t skip) {
    for (int i = 0; i < g_nbps; i++) {
        bp_t *b = &g_bps[i];
        int want = bp_wanted(b) && b->addr != skip;
        if (want && !b->inserted) {
            uint8_t o, cc = 0xCC; int st;
            guarded_copy(&o, (void *)b->addr, 1, &st);
            if (st == 0 && guarded_write(b->addr, &cc, 1, &st) == 1) { b->orig = o; b->inserted = 1; }
        } else if (!want && b->inserted) {
            int st; guarded_write(b->addr, &b->orig, 1, &st);
            b->inserted = 0;
        }
    }
    for (int i = 0; i < g_nbps;) {
        bp_t *b = &g_bps[i];
        if (b->host == HOST_NONE && !b->transient && !b->inserted) g_bps[i] = g_bps[--g_nbps]; else i++;
    }
}
/* a memory write over an inserted breakpoint updates its saved byte and keeps the 0xCC */
static void bp_after_write(uint64_t addr, uint64_t n) {
    for (int i = 0; i < g_nbps; i++) {
        bp_t *b = &g_bps[i];
        if (b->inserted && b->addr >= addr && b->addr < addr + n) {
            uint8_t cc = 0xCC; int st;
            guarded_copy(&b->orig, (void *)b->addr, 1, &st);
            guarded_write(b->addr, &cc, 1, &st);
        }
    }
}
/* memory as the program sees it (saved bytes instead of inserted 0xCC) */
static void bp_unshadow(uint64_t addr, uint8_t *buf, uint64_t n) {
    for (int i = 0; i < g_nbps; i++)
        if (g_bps[i].inserted && g_bps[i].addr >= addr && g_bps[i].addr < addr + n) buf[g_bps[i].addr - addr] = g_bps[i].orig;
}

/* ------------------------------------------------------------------ stop records */
static void fill_stop(stop_record_t *r, const interrupt_frame_t *f, int unshadow) {
    memset(r, 0, sizeof(*r));
    r->frame = *f;
    int st;
    guarded_copy(r->instruction, (void *)f->rip, 15, &st);
    if (unshadow) bp_unshadow(f->rip, r->instruction, 15);
    r->cr0 = read_cr0(); r->cr2 = read_cr2(); r->cr3 = read_cr3(); r->cr4 = read_cr4();
    r->call_stack_size = 0;
}

static void page_walk(uint64_t a, uint64_t e[4]) {
    const uint64_t mask = 0x000FFFFFFFFFF000ull;
    e[0] = e[1] = e[2] = e[3] = 0;
    uint64_t *t = (uint64_t *)(read_cr3() & mask);
    e[0] = t[(a >> 39) & 511];
    if (!(e[0] & 1)) return;
    t = (uint64_t *)(e[0] & mask);
    e[1] = t[(a >> 30) & 511];
    if (!(e[1] & 1) || (e[1] & 0x80)) return;
    t = (uint64_t *)(e[1] & mask);
    e[2] = t[(a >> 21) & 511];
    if (!(e[2] & 1) || (e[2] & 0x80)) return;
    t = (uint64_t *)(e[2] & mask);
    e[3] = t[(a >> 12) & 511];
}

/* ------------------------------------------------------------------ shared command handlers */
static void cmd_pagetable(uint32_t len) {
    uint64_t a; read_body(&a, 8, len);
    struct { uint64_t address, e[4]; } __attribute__((packed)) r;
    r.address = a; page_walk(a, r.e);
    send_packet(P_PAGETABLE + RESP, &r, sizeof(r));
}
static void cmd_cpuid(uint32_t len) {
    uint32_t ls[2]; read_body(ls, 8, len);
    uint32_t r[6] = {ls[0], ls[1]};
    cpuid_count(ls[0], ls[1], r + 2);
    send_packet(P_CPUID + RESP, r, sizeof(r));
}
static void cmd_rdmsr(uint32_t len, int guarded) {
    uint32_t msr; read_body(&msr, 4, len);
    uint64_t v = 0;
    if (guarded) { if (safe_rdmsr(msr, &v)) trace("debugger", "rdmsr 0x%x faulted", msr); }
    else { uint32_t lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); v = ((uint64_t)hi << 32) | lo; }
    uint32_t r[3] = {msr, (uint32_t)v, (uint32_t)(v >> 32)};
    send_packet(P_RDMSR + RESP, r, sizeof(r));
}
static void cmd_memmap(void) {
    trace("memory", "usable memory %llu MB", g_memory_total >> 20);
    trace("memory", "image 0x%llx-0x%llx, code 0x%llx-0x%llx, task stack 0x%llx-0x%llx", g_image_base,
          g_image_base + g_image_size, g_text_lo, g_text_hi, g_task_stack_lo, g_task_stack_hi);
}
static void cmd_unknown(uint32_t id, uint32_t len) {
    trace("debugger", "unhandled packet id %d, length %d", (int)id, (int)len);
}

/* ================================================================== compat mode: josx64's algorithm */
typedef struct { uint64_t at; uint8_t instr, active, transient; } cbp_t;
static cbp_t c_bps[MAX_BPS];
static int c_n;
static struct { uint64_t at; uint8_t instr; int active; } c_last_rt;
static uint32_t c_last_cmd = 0xFFFFFFFF;

static cbp_t *c_find(uint64_t at) { for (int i = 0; i < c_n; i++) if (c_bps[i].at == at) return &c_bps[i]; return 0; }
static cbp_t *c_set(uint64_t at) {
    cbp_t *bp = c_find(at);
    if (bp) {
        uint8_t b = *(volatile uint8_t *)at;
        if (b != 0xCC) { bp->instr = b; raw_poke(at, 0xCC); }
        bp->active = 1; bp->transient = 0;
        return bp;
    }
    if (c_n >= MAX_BPS) return &c_bps[MAX_BPS - 1];
    bp = &c_bps[c_n++];
    bp->at = at; bp->instr = *(volatile uint8_t *)at; bp->active = 1; bp->transient = 0;
    raw_poke(at, 0xCC);
    return bp;
}
static void c_remove(cbp_t *bp) { *bp = c_bps[c_n - 1]; /* flaw 2: the list never shrinks */ }

static void c_update(uint32_t len) {
    int n = len / 9;
    if (n == 0) {
        for (int i = 0; i < c_n; i++) if (c_bps[i].active) { raw_poke(c_bps[i].at, c_bps[i].instr); c_bps[i].active = 0; }
        c_n = 0;
        return;
    }
    uint8_t *buf = g_buf;
    read_body(buf, len < sizeof(g_buf) ? len : sizeof(g_buf), len);
    for (int k = 0; k < n && (uint64_t)(k + 1) * 9 <= sizeof(g_buf); k++) {
        uint64_t at; memcpy(&at, buf + k * 9, 8);
        uint8_t st = buf[k * 9 + 8];
        cbp_t *bp = c_find(at);
        if (bp) {
            switch (st) {
            case 0: if (!bp->active) { bp->instr = *(volatile uint8_t *)at; raw_poke(at, 0xCC); bp->active = 1; } break;
            case 1: if (bp->active) { raw_poke(at, bp->instr); bp->active = 0; } break;
            case 2: if (bp->active) { raw_poke(at, bp->instr); bp->active = 0; } c_remove(bp); break;
            default: break;
            }
        } else if (c_n < MAX_BPS) {
            cbp_t nb = {at, *(volatile uint8_t *)at, st == 0, 0};
            if (nb.active) raw_poke(at, 0xCC);
            c_bps[c_n++] = nb;
        }
    }
}

static void compat_loop(interrupt_frame_t *f) {
    for (;;) {
        uint32_t h[2]; serial_read(h, 8);
        uint32_t id = h[0], len = h[1];
        c_last_cmd = id;
        switch (id) {
        case P_UPDATEBP: c_update(len); break;
        case P_READ: {
            struct { uint64_t a; uint32_t l; } __attribute__((packed)) rq;
            read_body(&rq, 12, len);
            if (rq.l) send_packet(P_READ + RESP, (void *)rq.a, rq.l); /* unguarded, like josx64 */
            break;
        }
        case P_WRITE: {
            struct { uint64_t a; uint32_t l; } __attribute__((packed)) rq;
            read_body(&rq, 12, 12);
            if (rq.l) {
                uint64_t cr0 = read_cr0(); write_cr0(cr0 & ~0x10000ull);
                serial_read((void *)rq.a, rq.l);
                write_cr0(cr0);
            }
            break;
        }
        case P_PAGETABLE: cmd_pagetable(len); break;
        case P_CPUID: cmd_cpuid(len); break;
        case P_MEMMAP: cmd_memmap(); break;
        case P_RDMSR: cmd_rdmsr(len, 0); break;
        case P_HIVEDUMP: trace("hive", "(empty)"); break;
        case P_TRACESTEP: if (f) { f->rflags |= TF; return; } break;
        case P_SINGLESTEP:
            if (f) {
                int cl = call_length((const uint8_t *)f->rip);
                if (cl) { cbp_t *bp = c_set(f->rip + cl); bp->transient = 1; f->rflags &= ~TF; }
                else { c_last_cmd = P_TRACESTEP; f->rflags |= TF; }
                return;
            }
            break;
        case P_CONTINUE: if (f) { f->rflags &= ~TF; return; } break;
        default: cmd_unknown(id, len); break;
        }
    }
}

static void compat_exception(interrupt_frame_t *f) {
    cbp_t *bp = 0;
    stop_record_t r;
    switch (f->handler_id) {
    case 1:
    case 3:
        write_dr(6, 0xFFFF0FF0);
        if (c_last_rt.active) {
            c_last_rt.instr = *(volatile uint8_t *)c_last_rt.at;
            raw_poke(c_last_rt.at, 0xCC);
            c_last_rt.active = 0;
            if (c_last_cmd != P_TRACESTEP) { f->rflags &= ~TF; return; }
        }
        bp = c_find(f->rip - 1);
        if (bp && bp->active) { raw_poke(bp->at, bp->instr); f->rip--; }
        if (!bp || bp->active) {
            fill_stop(&r, f, 0);
            r.call_stack_size = collect_callstack(f->rsp);
            send_packet(P_BREAKPOINT, &r, sizeof(r));
            if (r.call_stack_size) send_packet(P_CALLSTACK, g_callstack, r.call_stack_size * 8u);
        }
        break;
    case 6: fill_stop(&r, f, 0); send_packet(P_UD, &r, sizeof(r)); break;
    case 13: fill_stop(&r, f, 0); send_packet(P_GPF, &r, sizeof(r)); break;
    case 14: fill_stop(&r, f, 0); send_packet(P_PF, &r, sizeof(r)); break;
    }
    compat_loop(f);
    if (bp && bp->active && !bp->transient) {
        /* flaw 3: bp may now point at a different breakpoint after an update */
        c_last_rt.active = 1; c_last_rt.at = f->rip; c_last_rt.instr = bp->instr;
        f->rflags |= TF;
    } else {
        if (bp && bp->transient) c_remove(bp);
        c_last_rt.active = 0;
    }
}

/* ================================================================== normal mode */
enum { RM_CONT, RM_STEP, RM_RANGE, RM_NONE };
static interrupt_frame_t *g_frame;
static uint8_t *g_fx;
static uint64_t g_stop_dr6;
static int g_stepover_active, g_silent_step, g_resume_mode = RM_CONT;
static uint64_t g_range_lo, g_range_hi;
static int g_fault_stop;
static uint64_t g_fault_rip;

static void restart_task(interrupt_frame_t *f) {
    uint64_t top = (g_task_stack_hi & ~15ull) - 40;
    *(uint64_t *)top = 0;
    trace("debugger", "continuing from an unresolved fault at 0x%llx: restarting task \"main\"", f->rip);
    f->rip = (uint64_t)&task_main; f->rsp = top; f->rbp = 0; f->rflags = 0x202;
}

static void resume(interrupt_frame_t *f, int mode) {
    if (g_fault_stop && f->rip == g_fault_rip) restart_task(f);
    g_fault_stop = 0;
    g_resume_mode = mode;
    bp_sync(f->rip);
    bp_t *b = bp_find(f->rip);
    g_stepover_active = b && bp_wanted(b);
    f->rflags |= RF;
    if (mode == RM_CONT) {
        if (g_stepover_active) { f->rflags |= TF; g_silent_step = 1; }
        else { f->rflags &= ~TF; g_silent_step = 0; }
    } else {
        f->rflags |= TF; g_silent_step = 0;
    }
}

static void send_context(void) {
    struct {
        uint16_t cs, ds, es, fs, gs, ss;
        uint64_t fs_base, gs_base, cr8, dr0, dr1, dr2, dr3, dr6, dr7;
        uint8_t fx[512];
    } __attribute__((packed)) c;
    _Static_assert(sizeof(c) == 596, "context");
    memset(&c, 0, sizeof(c));
    uint16_t s;
    c.cs = g_frame ? (uint16_t)g_frame->cs : 0; c.ss = g_frame ? (uint16_t)g_frame->ss : 0;
    if (!g_frame) { __asm__ volatile("mov %%cs,%0" : "=r"(s)); c.cs = s; __asm__ volatile("mov %%ss,%0" : "=r"(s)); c.ss = s; }
    __asm__ volatile("mov %%ds,%0" : "=r"(s)); c.ds = s;
    __asm__ volatile("mov %%es,%0" : "=r"(s)); c.es = s;
    __asm__ volatile("mov %%fs,%0" : "=r"(s)); c.fs = s;
    __asm__ volatile("mov %%gs,%0" : "=r"(s)); c.gs = s;
    uint64_t base = 0;
    safe_rdmsr(0xC0000100, &base); c.fs_base = base;
    base = 0; safe_rdmsr(0xC0000101, &base); c.gs_base = base;
    c.cr8 = read_cr8();
    c.dr0 = read_dr(0); c.dr1 = read_dr(1); c.dr2 = read_dr(2); c.dr3 = read_dr(3);
    c.dr6 = g_frame ? g_stop_dr6 : read_dr(6); c.dr7 = read_dr(7);
    if (g_fx && g_frame) memcpy(c.fx, g_fx, 512);
    else __asm__ volatile("fxsave64 %0" : "=m"(c.fx));
    send_packet(X_READCTX + RESP, &c, sizeof(c));
}

static uint32_t set_hw_breakpoint(uint8_t slot, uint8_t kind, uint8_t length, uint8_t enable, uint64_t addr) {
    if (slot > 3) return 1;
    uint64_t dr7 = read_dr(7);
    dr7 &= ~((3ull << (slot * 2)) | (0xFull << (16 + slot * 4)));
    if (enable) {
        if (kind != 0 && kind != 1 && kind != 3) return 1;
        if (length != 1 && length != 2 && length != 4 && length != 8) return 1;
        if (kind == 0 && length != 1) return 1;
        if (addr & (length - 1)) return 1;
        uint64_t lenbits = length == 1 ? 0 : length == 2 ? 1 : length == 8 ? 2 : 3;
        write_dr(slot, addr);
        dr7 |= (1ull << (slot * 2)) | ((uint64_t)kind << (16 + slot * 4)) | (lenbits << (18 + slot * 4)) | (1ull << 8);
    } else {
        write_dr(slot, 0);
    }
    write_dr(7, dr7 | 0x400);
    return 0;
}

static void stream_read(uint64_t addr, uint32_t len) {
    uint32_t hdr[2] = {P_READ + RESP, len};
    serial_write(hdr, 8);
    int failed = 0; uint64_t fail_at = 0;
    for (uint32_t off = 0; off < len;) {
        uint32_t chunk = len - off > 4096 ? 4096 : len - off;
        uint64_t got = 0;
        if (!failed) {
            int st; got = guarded_copy(g_buf, (void *)(addr + off), chunk, &st);
            if (st) { failed = 1; fail_at = addr + off + got; }
        }
        memset(g_buf + got, 0, chunk - got);
        serial_write(g_buf, chunk);
        off += chunk;
    }
    if (failed) trace("debugger", "read of 0x%llx faulted at 0x%llx: zeros sent (use safe-memory)", addr, fail_at);
}

/* returns the resume mode; f == 0 (assert): cannot resume */
static int normal_loop(interrupt_frame_t *f) {
    for (;;) {
        uint32_t h[2]; serial_read(h, 8);
        uint32_t id = h[0], len = h[1];
        switch (id) {
        case P_CONTINUE: if (f) return RM_CONT; break;
        case P_TRACESTEP: if (f) return RM_STEP; break;
        case P_READ: {
            struct { uint64_t a; uint32_t l; } __attribute__((packed)) rq;
            read_body(&rq, 12, len);
            if (rq.l) stream_read(rq.a, rq.l);
            break;
        }
        case P_WRITE: {
            struct { uint64_t a; uint32_t l; } __attribute__((packed)) rq;
            read_body(&rq, 12, len);
            for (uint32_t off = 0; off < rq.l;) {
                uint32_t chunk = rq.l - off > 4096 ? 4096 : rq.l - off;
                serial_read(g_buf, chunk);
                int st; uint64_t c = guarded_write(rq.a + off, g_buf, chunk, &st);
                bp_after_write(rq.a + off, c);
                if (st) trace("debugger", "write to 0x%llx faulted at 0x%llx", rq.a + off, rq.a + off + c);
                off += chunk;
            }
            break;
        }
        case P_PAGETABLE: cmd_pagetable(len); break;
        case P_RDMSR: cmd_rdmsr(len, 1); break;
        case P_CPUID: cmd_cpuid(len); break;
        case P_MEMMAP: cmd_memmap(); break;
        case P_HIVEDUMP: trace("hive", "(empty)"); break;
        case P_UPDATEBP: {
            if (len == 0) {
                for (int i = 0; i < g_nbps; i++) { g_bps[i].host = HOST_NONE; g_bps[i].transient = 0; }
            } else {
                uint32_t cap = len < sizeof(g_buf) ? len : sizeof(g_buf);
                read_body(g_buf, cap, len);
                for (uint32_t k = 0; (k + 1) * 9 <= cap; k++) {
                    uint64_t at; memcpy(&at, g_buf + k * 9, 8);
                    uint8_t st = g_buf[k * 9 + 8];
                    bp_t *b = st == 2 ? bp_find(at) : bp_get(at);
                    if (!b) continue;
                    b->host = st == 0 ? HOST_EN : st == 1 ? HOST_DIS : HOST_NONE;
                }
            }
            bp_sync(f ? f->rip : NO_ADDR);
            break;
        }
        case P_SINGLESTEP:
            if (f) {
                uint8_t ins[16]; int st;
                memset(ins, 0, sizeof(ins));
                guarded_copy(ins, (void *)f->rip, 16, &st);
                bp_unshadow(f->rip, ins, 16);
                int cl = call_length(ins);
                if (!cl) return RM_STEP;
                bp_t *b = bp_get(f->rip + cl);
                if (!b) return RM_STEP;
                b->transient = 1; b->trsp = f->rsp;
                return RM_CONT;
            }
            break;
        /* ---- extensions */
        case X_WRITEREGS: {
            interrupt_frame_t nf;
            read_body(&nf, sizeof(nf), len);
            uint32_t status = 1;
            if (f && len == sizeof(nf)) {
                memcpy(f, &nf, 15 * 8); /* rdi .. r8 */
                f->rip = nf.rip; f->rsp = nf.rsp;
                f->rflags = (nf.rflags & 0x3F0FD5ull) | 2;
                status = 0;
            }
            send_packet(X_WRITEREGS + RESP, &status, 4);
            break;
        }
        case X_BREAKIN: read_body(0, 0, len); break; /* already stopped: consumed and ignored */
        case X_SAFEREAD: {
            struct { uint64_t a; uint32_t l; } __attribute__((packed)) rq;
            read_body(&rq, 12, len);
            uint32_t r[2] = {0, 0};
            if (rq.l > 65536) r[0] = 3;
            else { int st; r[1] = (uint32_t)guarded_copy(g_buf, (void *)rq.a, rq.l, &st); r[0] = st; }
            send_packet2(X_SAFEREAD + RESP, r, 8, g_buf, r[1]);
            break;
        }
        case X_SAFEWRITE: {
            struct { uint64_t a; uint32_t l; } __attribute__((packed)) rq;
            uint32_t r[2] = {0, 0};
            if (len < 12) { read_body(&rq, 12, len); r[0] = 3; send_packet(X_SAFEWRITE + RESP, r, 8); break; }
            read_body(&rq, 12, 12);
            uint32_t data = len - 12;
            if (data > 65536 || rq.l > 65536 || rq.l > data) {
                read_body(0, 0, data); r[0] = 3;
            } else {
                read_body(g_buf, data, data);
                int st; r[1] = (uint32_t)guarded_write(rq.a, g_buf, rq.l, &st); r[0] = st;
                bp_after_write(rq.a, r[1]);
            }
            send_packet(X_SAFEWRITE + RESP, r, 8);
            break;
        }
        case X_HWBP: {
            struct { uint8_t slot, kind, length, enable; uint64_t addr; } __attribute__((packed)) rq;
            read_body(&rq, 12, len);
            uint32_t status = set_hw_breakpoint(rq.slot, rq.kind, rq.length, rq.enable, rq.addr);
            send_packet(X_HWBP + RESP, &status, 4);
            break;
        }
        case X_RANGESTEP: {
            uint64_t r[2]; read_body(r, 16, len);
            if (f) { g_range_lo = r[0]; g_range_hi = r[1]; return RM_RANGE; }
            break;
        }
        case X_READCTX: read_body(0, 0, len); send_context(); break;
        case X_TRACESTEP_COMPACT:
            read_body(0, 0, len);
            if (f) { g_compact_next = 1; return RM_STEP; }
            break;
        case X_RESET:
            read_body(0, 0, len);
            trace("debugger", "reset");
            gST->RuntimeServices->ResetSystem(EfiResetCold, 0, 0, 0);
            outb(0xCF9, 0x02); outb(0xCF9, 0x06);
            for (;;) __asm__ volatile("cli; hlt");
        default: cmd_unknown(id, len); break;
        }
    }
}

/* CompactStop: a mask of the fields (22 frame fields, cr0, cr2, cr3, cr4) that differ
 * from the last record sent, their values in field order, the instruction bytes, then
 * the stack below rsp to the start of its 64-byte line (the trap frame is there, and
 * gdb reads stack memory in 64-byte lines). */
static void send_compact_stop(const stop_record_t *r) {
    uint8_t body[4 + 26 * 8 + 15 + 1 + 64];
    uint64_t now[26], was[26];
    memcpy(now, &r->frame, 176); memcpy(was, &g_last_record.frame, 176);
    now[22] = r->cr0; now[23] = r->cr2; now[24] = r->cr3; now[25] = r->cr4;
    was[22] = g_last_record.cr0; was[23] = g_last_record.cr2; was[24] = g_last_record.cr3; was[25] = g_last_record.cr4;
    uint32_t mask = 0, n = 4;
    for (int i = 0; i < 26; i++) {
        if (now[i] == was[i]) continue;
        mask |= 1u << i;
        memcpy(body + n, &now[i], 8); n += 8;
    }
    memcpy(body, &mask, 4);
    memcpy(body + n, r->instruction, 15); n += 15;
    uint8_t below = (uint8_t)(r->frame.rsp & 63);
    int st;
    if (below && guarded_copy(body + n + 1, (void *)(r->frame.rsp - below), below, &st) != below) below = 0;
    body[n] = below; n += 1 + below;
    send_packet(X_COMPACTSTOP, body, n);
}

/* report a stop, run the command loop, prepare the resume */
static void normal_stop(interrupt_frame_t *f, uint8_t *fx, uint32_t packet_id, int slot, int callstack) {
    g_frame = f; g_fx = fx; g_in_debugger = 1;
    for (int i = 0; i < g_nbps; i++) g_bps[i].transient = 0; /* a stop ends a step-over */
    bp_sync(f->rip);
    stop_record_t r;
    fill_stop(&r, f, 1);
    int compact = g_compact_next && g_have_last_record && packet_id == P_BREAKPOINT;
    g_compact_next = 0;
    if (callstack && !compact) r.call_stack_size = collect_callstack(f->rsp);
    if (compact) {
        send_compact_stop(&r);
    } else if (packet_id == X_HWSTOP) {
        struct { uint8_t slot; uint64_t dr6; } __attribute__((packed)) hw = {(uint8_t)slot, g_stop_dr6};
        send_packet2(X_HWSTOP, &hw, 9, &r, sizeof(r));
    } else {
        send_packet(packet_id, &r, sizeof(r));
    }
    if (r.call_stack_size) send_packet(P_CALLSTACK, g_callstack, r.call_stack_size * 8u);
    g_last_record = r; g_have_last_record = 1;
    int mode = normal_loop(f);
    resume(f, mode);
    g_frame = 0; g_fx = 0; g_in_debugger = 0;
}

static void normal_exception(interrupt_frame_t *f, uint8_t *fx) {
    uint64_t v = f->handler_id;
    if (v == 1) {
        uint64_t dr6 = read_dr(6);
        write_dr(6, 0xFFFF0FF0);
        g_stop_dr6 = dr6;
        uint64_t dr7 = read_dr(7);
        int hw = -1;
        for (int s = 0; s < 4; s++) if ((dr6 & (1ull << s)) && (dr7 & (3ull << (s * 2)))) { hw = s; break; }
        if (g_stepover_active) { g_stepover_active = 0; bp_sync(NO_ADDR); }
        if (hw >= 0) { g_silent_step = 0; normal_stop(f, fx, X_HWSTOP, hw, 0); return; }
        int bs = (dr6 & 0x4000) != 0;
        if (bs && g_silent_step) { g_silent_step = 0; f->rflags &= ~TF; return; }
        if (bs && g_resume_mode == RM_RANGE && f->rip >= g_range_lo && f->rip < g_range_hi) {
            bp_t *b = bp_find(f->rip);
            if (b && b->inserted && b->host == HOST_EN) { f->handler_id = 3; normal_stop(f, fx, P_BREAKPOINT, 0, 1); return; }
            resume(f, RM_RANGE);
            return;
        }
        normal_stop(f, fx, P_BREAKPOINT, 0, 1);
        return;
    }
    g_stop_dr6 = read_dr(6);
    if (v == 3) {
        bp_t *b = bp_find(f->rip - 1);
        if (b && b->inserted) {
            f->rip--;
            if (b->transient && b->host != HOST_EN && f->rsp < b->trsp) { /* deeper recursion: not the step-over target */
                resume(f, RM_CONT);
                return;
            }
        }
        normal_stop(f, fx, P_BREAKPOINT, 0, 1);
        return;
    }
    if (v != 2 && v != 4) { g_fault_stop = 1; g_fault_rip = f->rip; }
    uint32_t id = v == 6 ? P_UD : v == 13 ? P_GPF : v == 14 ? P_PF : X_EXCEPTION;
    normal_stop(f, fx, id, 0, 0);
}

/* ------------------------------------------------------------------ break-in polling */
static uint8_t g_bi_win[8];
static int g_bi_n;
static int poll_break_in(void) {
    static const uint8_t pat[8] = {0x41, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < 64 && serial_rx_ready(); i++) {
        uint8_t c = serial_getc();
        if (g_bi_n < 8) g_bi_win[g_bi_n++] = c;
        else { memmove(g_bi_win, g_bi_win + 1, 7); g_bi_win[7] = c; }
        if (g_bi_n == 8 && memcmp(g_bi_win, pat, 8) == 0) { g_bi_n = 0; return 1; }
    }
    return 0;
}

/* ------------------------------------------------------------------ entry from isr.S */
static int has_error_code(uint64_t v) { return v == 8 || v == 10 || v == 11 || v == 12 || v == 13 || v == 14 || v == 17 || v == 21 || v == 29 || v == 30; }

static uint64_t chain(interrupt_frame_t *f, uint64_t v) {
    if (!g_orig_present[v]) {
        trace("interrupts", "unhandled vector %llu at 0x%llx, halting", v, f->rip);
        for (;;) __asm__ volatile("cli; hlt");
    }
    if (v < 32 && has_error_code(v)) { f->handler_id = g_orig_handler[v]; return 1; }
    f->error_code = g_orig_handler[v];
    return 2;
}

uint64_t isr_dispatch(interrupt_frame_t *f, uint8_t *fx) {
    uint64_t v = f->handler_id;
    if (v < 32) {
        if (v == 13 || v == 14 || v == 17) {
            if (f->rip >= (uint64_t)safe_copy_start && f->rip < (uint64_t)safe_copy_end) {
                g_guard_vector = (int)v; g_guard_cr2 = read_cr2(); f->rip = (uint64_t)safe_copy_fault; return 0;
            }
            if (f->rip >= (uint64_t)safe_rdmsr_start && f->rip <= (uint64_t)safe_rdmsr_end) {
                g_guard_vector = (int)v; f->rip = (uint64_t)safe_rdmsr_fault; return 0;
            }
        }
        if (!g_connected) return chain(f, v);
        if (g_compat) {
            if (v == 1 || v == 3 || v == 6 || v == 13 || v == 14) { compat_exception(f); return 0; }
            return chain(f, v);
        }
        if (g_in_debugger && v == 1) { /* data/instruction breakpoint hit by the debugger itself */
            write_dr(6, 0xFFFF0FF0); f->rflags |= RF; return 0;
        }
        normal_exception(f, fx);
        return 0;
    }
    if (g_connected && !g_compat && !g_in_debugger && poll_break_in()) {
        normal_stop(f, fx, X_BREAKIN + RESP, 0, 0);
        g_bi_n = 0;
    }
    return chain(f, v);
}

/* ------------------------------------------------------------------ handshake, assert */
static int json_add(char *b, int o, int cap, const char *fmt, ...) {
    va_list ap; va_start(ap, fmt);
    int n = k_vsnprintf(b + o, cap - o, fmt, ap);
    va_end(ap);
    return o + n < cap ? o + n : cap - 1;
}

void debugger_wait_for_connection(void) {
    static const char id[4] = {'j', 'o', 's', 'x'};
    int pos = 0;
    char c = (char)serial_getc();
    for (;;) { /* josx64's matcher: a mismatch resets without re-testing the character */
        if (c == id[pos]) { if (++pos == 4) break; }
        else pos = 0;
        c = (char)serial_getc();
    }
    static char js[1024];
    int o = 0, cap = sizeof(js);
    o = json_add(js, o, cap, "{ \"version\" : { \"major\" : 0, \"minor\" : 1, \"patch\" : 0 }, ");
    o = json_add(js, o, cap, "\"image_info\" : { \"base\" : %llu, \"entry_point\" : %llu }, ", g_image_base, g_entry_point);
    o = json_add(js, o, cap, "\"system_info\" : { \"processors\" : %llu, \"memory\" : %llu, \"vendor\" : \"%s\"",
                 g_processors, g_memory_total, g_vendor);
    if (g_has_hypervisor) o = json_add(js, o, cap, ", \"hypervisor\" : { \"id\" : \"%s\" }", g_hypervisor);
    if (g_has_xsave) o = json_add(js, o, cap, ", \"xsave\" : { \"size\" : %llu, \"bitmap\" : %llu }", g_xsave_size, g_xsave_bitmap);
    o = json_add(js, o, cap, " }");
    if (!g_compat)
        o = json_add(js, o, cap, ", \"features\" : [ \"write-registers\", \"break-in\", \"safe-memory\", \"hw-breakpoints\", "
                                 "\"range-step\", \"full-context\", \"reset\", \"all-exceptions\", \"compact-stop\" ]");
    o = json_add(js, o, cap, " }");
    send_packet(P_KCI, js, (uint32_t)o);
    g_connected = 1;
}

void debugger_set_initial_breakpoint(uint64_t at) {
    if (g_compat) { c_set(at); return; }
    bp_t *b = bp_get(at);
    if (b) { b->host = HOST_EN; bp_sync(NO_ADDR); }
}

void debugger_assert(const char *cond, const char *file, int line) {
    if (!g_connected) { trace("assert", "%s (%s:%d)", cond, file, line); for (;;) __asm__ volatile("cli; hlt"); }
    static char js[512];
    int n = k_snprintf(js, sizeof(js), "{ \"assert\" : { \"cond\" : \"%s\", \"file\" : \"%s\", \"line\" : %d } }", cond, file, line);
    uint64_t fl = irq_save(); /* the break-in poller must not read the command stream */
    (void)fl;
    send_packet(P_ASSERT, js, (uint32_t)n);
    if (g_compat) compat_loop(0); else { g_in_debugger = 1; normal_loop(0); }
    for (;;) __asm__ volatile("cli; hlt");
}
