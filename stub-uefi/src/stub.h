/* stub-uefi shared declarations */
#ifndef STUB_H
#define STUB_H
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include "efi.h"

#pragma pack(push, 1)
/* josx64 InterruptFrame: 22 x u64, in this order (176 bytes) */
typedef struct {
    uint64_t rdi, rsi, rbp, rdx, rcx, rbx, rax, r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t handler_id, error_code, rip, cs, rflags, rsp, ss;
} interrupt_frame_t;

typedef struct {
    interrupt_frame_t frame;
    uint8_t instruction[15];
    uint64_t cr0, cr2, cr3, cr4;
    uint16_t call_stack_size;
} stop_record_t;
#pragma pack(pop)

_Static_assert(sizeof(interrupt_frame_t) == 176, "frame");
_Static_assert(sizeof(stop_record_t) == 225, "stop record");

/* serial.c / main.c */
void serial_init(void);
void serial_putc(uint8_t c);
uint8_t serial_getc(void);
int serial_rx_ready(void);
void serial_write(const void *p, size_t n);
void serial_read(void *p, size_t n);
void send_packet(uint32_t id, const void *body, uint32_t len);
void send_packet2(uint32_t id, const void *a, uint32_t alen, const void *b, uint32_t blen);
int k_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int k_snprintf(char *buf, size_t size, const char *fmt, ...);
void trace(const char *channel, const char *fmt, ...);

extern int g_connected;
extern int g_compat;
extern uint64_t g_image_base, g_image_size, g_text_lo, g_text_hi;
extern uint64_t g_task_stack_lo, g_task_stack_hi;
extern uint64_t g_tsc_per_sec;
extern EFI_SYSTEM_TABLE *gST;

/* isr.S */
extern uint64_t isr_stub_table[256];
uint64_t safe_copy(void *dst, const void *src, uint64_t n);   /* returns bytes copied */
extern char safe_copy_start[], safe_copy_end[], safe_copy_fault[];
int safe_rdmsr(uint32_t msr, uint64_t *out);                  /* 0 ok, 1 fault */
extern char safe_rdmsr_start[], safe_rdmsr_end[], safe_rdmsr_fault[];
void run_on_stack(void (*fn)(void), uint64_t stack_top);

/* debugger.c */
uint64_t isr_dispatch(interrupt_frame_t *f, uint8_t *fxsave);
void debugger_wait_for_connection(void);
void debugger_set_initial_breakpoint(uint64_t at);
void debugger_assert(const char *cond, const char *file, int line);
extern int g_guard_vector;
extern uint64_t g_guard_cr2;

/* workload.c */
void main(void);
void task_main(void);

/* libc */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t k_strlen(const char *s);

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0,%1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1,%0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }
static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0,%0" : "=r"(v)); return v; }
static inline void write_cr0(uint64_t v) { __asm__ volatile("mov %0,%%cr0" ::"r"(v) : "memory"); }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2,%0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3,%0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4,%0" : "=r"(v)); return v; }
static inline uint64_t read_cr8(void) { uint64_t v; __asm__ volatile("mov %%cr8,%0" : "=r"(v)); return v; }
static inline uint64_t irq_save(void) { uint64_t f; __asm__ volatile("pushfq; pop %0; cli" : "=r"(f)::"memory"); return f; }
static inline void irq_restore(uint64_t f) { if (f & 0x200) __asm__ volatile("sti" ::: "memory"); }
static inline void cpuid_count(uint32_t leaf, uint32_t sub, uint32_t r[4]) {
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
#endif
