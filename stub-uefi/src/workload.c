/* stub-uefi demo workload: a tiny "kernel main task" to debug.
 * g_trigger (set it from gdb: set var g_trigger=N) selects a fault/assert/exception path:
 *   0 none, 1 #PF (read of an unmapped address), 2 #GP (non-canonical read), 3 #UD (ud2),
 *   4 assert, 5 int3, 6 #DE (divide by zero), 7 busy loop without calls (until g_trigger changes) */
#include "stub.h"

#define NOINLINE __attribute__((noinline))
#define JOS_ASSERT(c) do { if (!(c)) debugger_assert(#c, __FILE__, __LINE__); } while (0)

struct demo_point {
    int x, y;
    const char *name;
};

volatile uint64_t g_counter;
volatile int g_trigger;
volatile uint64_t g_spin;
struct demo_point g_point = {3, 4, "origin"};
uint32_t g_table[8] = {1, 1, 2, 3, 5, 8, 13, 21};
char g_message[] = "hello from the josgdb stub";
uint64_t g_last_result;
volatile int g_divisor; /* 0: used for #DE */

/* a leaf: no frame, no calls */
NOINLINE uint64_t demo_leaf(uint64_t v) { return (v * 2654435761u) ^ (v >> 3); }
NOINLINE uint64_t demo_c(uint64_t v) { return demo_leaf(v + 3) + g_table[v & 7]; }
NOINLINE uint64_t demo_b(uint64_t v) { uint64_t r = demo_c(v + 2); g_point.x = (int)(r & 0xff); return r + 1; }
NOINLINE uint64_t demo_a(uint64_t v) { uint64_t r = demo_b(v + 1); return r ^ g_point.y; }

/* a pointer argument and struct fields (for print *p, p->name) */
struct demo_point *g_point_ptr = &g_point;
NOINLINE int demo_point_sum(const struct demo_point *p, int scale) {
    int sum = (p->x + p->y) * scale;
    return sum;
}

/* recursion */
NOINLINE uint64_t demo_factorial(uint64_t n) { return n <= 1 ? 1 : n * demo_factorial(n - 1); }

/* a frame pointer and a variable-size stack area */
NOINLINE uint64_t demo_frame(int n) {
    volatile uint8_t area[n];
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) area[i] = (uint8_t)(i * 7 + g_counter);
    for (int i = 0; i < n; i++) sum += area[i];
    return sum;
}

NOINLINE void demo_busy_loop(void) {
    while (g_trigger == 7) g_spin++; /* tight loop, no calls: for break-in */
}

NOINLINE void demo_fault(int what) {
    switch (what) {
    case 1: g_last_result = *(volatile uint64_t *)0x00007FFFFFFFF000ull; break; /* #PF: unmapped */
    case 2: g_last_result = *(volatile uint64_t *)0x8000000000000000ull; break; /* #GP: non-canonical */
    case 3: __asm__ volatile("ud2"); break;                                      /* #UD */
    case 4: JOS_ASSERT(g_point.x == -1); break;                                  /* assert */
    case 5: __asm__ volatile("int3"); break;                                     /* compiled int3 */
    case 6: g_last_result = g_counter / (uint64_t)g_divisor; break;             /* #DE */
    case 7: demo_busy_loop(); break;
    default: break;
    }
}

/* called from demo_noinfo (noinfo.S), which has no unwind data: a backtrace from here
 * reaches main only through the stack scan */
uint64_t g_noinfo_result;
uint64_t demo_noinfo(uint64_t v);
NOINLINE uint64_t demo_noinfo_callee(uint64_t v) { return v * 3 + g_table[v & 7]; }

static uint64_t g_next_trace;

/* the workload's main: runs forever */
NOINLINE void main(void) {
    trace("demo", "main running: %s", g_message);
    g_next_trace = rdtsc() + g_tsc_per_sec;
    for (;;) {
        g_counter++;
        g_last_result = demo_a(g_counter) + demo_factorial(20) + demo_frame((int)(g_counter % 16) + 1);
        g_noinfo_result = demo_noinfo(g_counter);
        for (int i = 0; i < 250; i++) g_spin += (uint64_t)i; /* one source line of about 1,000 instructions: `next` over it is the range-stepping benchmark */
        g_last_result += demo_point_sum(g_point_ptr, 2);
        int t = g_trigger;
        if (t) {
            if (t != 7) g_trigger = 0; /* one shot */
            demo_fault(t);
        }
        uint64_t now = rdtsc();
        if (now >= g_next_trace) {
            g_next_trace = now + g_tsc_per_sec;
            trace("demo", "tick: g_counter=%llu result=0x%llx", g_counter, g_last_result);
        }
    }
}

/* task entry on the task stack (also where the debugger restarts the task after an unresolved fault) */
void task_main(void) {
    void (*volatile entry)(void) = main; /* keeps a return address into task_main on the stack */
    entry();
    trace("tasks", "main returned");
    for (;;) __asm__ volatile("hlt");
}
