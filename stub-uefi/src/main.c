/* stub-uefi: UEFI entry, debug UART, trace output, IDT takeover, system information. */
#include "stub.h"

#ifndef DEBUG_PORT
#define DEBUG_PORT 0x2F8 /* COM2; build with DEBUG_PORT=0x3F8 for COM1 like josx64 */
#endif

EFI_SYSTEM_TABLE *gST;
static EFI_HANDLE g_image_handle;
int g_connected;
int g_compat;
uint64_t g_image_base, g_image_size, g_text_lo, g_text_hi, g_entry_point;
uint64_t g_task_stack_lo, g_task_stack_hi;
uint64_t g_tsc_per_sec = 1000000000ull;
int _fltused = 0;
EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st);

/* info for KernelConnectionInfo */
uint64_t g_processors = 1, g_memory_total;
char g_vendor[13], g_hypervisor[13];
int g_has_hypervisor, g_has_xsave;
uint64_t g_xsave_size, g_xsave_bitmap;
int g_debug_support_present;

#define TASK_STACK_SIZE (256 * 1024)
static uint8_t g_task_stack[TASK_STACK_SIZE] __attribute__((aligned(4096)));

/* ------------------------------------------------------------------ libc */
void *memcpy(void *d, const void *s, size_t n) { uint8_t *dd = d; const uint8_t *ss = s; while (n--) *dd++ = *ss++; return d; }
void *memset(void *d, int c, size_t n) { uint8_t *dd = d; while (n--) *dd++ = (uint8_t)c; return d; }
void *memmove(void *d, const void *s, size_t n) {
    uint8_t *dd = d; const uint8_t *ss = s;
    if (dd < ss) { while (n--) *dd++ = *ss++; } else { dd += n; ss += n; while (n--) *--dd = *--ss; }
    return d;
}
int memcmp(const void *a, const void *b, size_t n) {
    const uint8_t *x = a, *y = b;
    for (; n; n--, x++, y++) if (*x != *y) return *x - *y;
    return 0;
}
size_t k_strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

/* ------------------------------------------------------------------ UART */
#define UART_DATA (DEBUG_PORT + 0)
#define UART_IER (DEBUG_PORT + 1)
#define UART_FCR (DEBUG_PORT + 2)
#define UART_LCR (DEBUG_PORT + 3)
#define UART_MCR (DEBUG_PORT + 4)
#define UART_LSR (DEBUG_PORT + 5)

void serial_init(void) {
    outb(UART_IER, 0x00);      /* polled: no UART interrupts */
    outb(UART_LCR, 0x80);      /* DLAB */
    outb(DEBUG_PORT + 0, 0x01); /* divisor 1 = 115200 baud */
    outb(DEBUG_PORT + 1, 0x00);
    outb(UART_LCR, 0x03);      /* 8N1 */
    outb(UART_FCR, 0xC1);      /* FIFO on, do not flush what the host already sent */
    outb(UART_MCR, 0x03);      /* DTR RTS, OUT2 off (no IRQ) */
}
int serial_rx_ready(void) { return inb(UART_LSR) & 1; }
void serial_putc(uint8_t c) { while (!(inb(UART_LSR) & 0x20)) __asm__ volatile("pause"); outb(UART_DATA, c); }
uint8_t serial_getc(void) { while (!(inb(UART_LSR) & 1)) __asm__ volatile("pause"); return inb(UART_DATA); }
void serial_write(const void *p, size_t n) { const uint8_t *b = p; while (n--) serial_putc(*b++); }
void serial_read(void *p, size_t n) { uint8_t *b = p; while (n--) *b++ = serial_getc(); }

void send_packet2(uint32_t id, const void *a, uint32_t alen, const void *b, uint32_t blen) {
    uint64_t fl = irq_save(); /* a packet is never interleaved with one sent from an interrupt */
    uint32_t hdr[2] = {id, alen + blen};
    serial_write(hdr, 8);
    if (alen) serial_write(a, alen);
    if (blen) serial_write(b, blen);
    irq_restore(fl);
}
void send_packet(uint32_t id, const void *body, uint32_t len) { send_packet2(id, body, len, 0, 0); }

/* ------------------------------------------------------------------ printf */
int k_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    size_t o = 0;
#define PUT(ch) do { if (o + 1 < size) buf[o] = (ch); o++; } while (0)
    while (*fmt) {
        char c = *fmt++;
        if (c != '%') { PUT(c); continue; }
        int zero = 0, width = 0, lng = 0;
        if (*fmt == '0') { zero = 1; fmt++; }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l' || *fmt == 'z') { lng++; fmt++; }
        c = *fmt++;
        if (c == 's') {
            const char *s = va_arg(ap, const char *);
            if (!s) s = "(null)";
            size_t l = k_strlen(s);
            for (int i = (int)l; i < width; i++) PUT(' ');
            while (*s) PUT(*s++);
            continue;
        }
        if (c == 'c') { PUT((char)va_arg(ap, int)); continue; }
        if (c == '%') { PUT('%'); continue; }
        uint64_t v; int neg = 0, base = 10; const char *digits = "0123456789abcdef";
        if (c == 'p') { v = (uint64_t)va_arg(ap, void *); base = 16; PUT('0'); PUT('x'); zero = 1; width = 16; }
        else if (c == 'd' || c == 'i') {
            int64_t sv = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (sv < 0) { neg = 1; v = (uint64_t)(-sv); } else v = (uint64_t)sv;
        } else {
            v = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
            if (c == 'x') base = 16;
            if (c == 'X') { base = 16; digits = "0123456789ABCDEF"; }
        }
        char tmp[24]; int n = 0;
        do { tmp[n++] = digits[v % base]; v /= base; } while (v);
        if (neg) { if (zero) PUT('-'); else tmp[n++] = '-'; width--; }
        for (int i = n; i < width; i++) PUT(zero ? '0' : ' ');
        while (n) PUT(tmp[--n]);
    }
    if (size) buf[o < size ? o : size - 1] = 0;
    return (int)o;
#undef PUT
}
int k_snprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap; va_start(ap, fmt); int r = k_vsnprintf(buf, size, fmt, ap); va_end(ap); return r;
}

/* Trace: before the connection a raw line "[channel] message\r\n\0" (like josx64),
 * afterwards packet id 1 with "[channel] message". */
void trace(const char *channel, const char *fmt, ...) {
    char buf[512];
    int n = k_snprintf(buf, sizeof(buf), "[%s] ", channel);
    va_list ap; va_start(ap, fmt);
    n += k_vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 4) n = sizeof(buf) - 4;
    if (g_connected) {
        send_packet(1, buf, (uint32_t)n);
    } else {
        uint64_t fl = irq_save();
        serial_write(buf, n);
        serial_write("\r\n", 3); /* CR LF NUL */
        irq_restore(fl);
    }
}

/* ------------------------------------------------------------------ IDT */
#pragma pack(push, 1)
typedef struct { uint16_t off0, sel; uint8_t ist, attr; uint16_t off1; uint32_t off2, zero; } idt_entry_t;
typedef struct { uint16_t limit; uint64_t base; } idtr_t;
#pragma pack(pop)
static idt_entry_t g_idt[256] __attribute__((aligned(16)));
uint64_t g_orig_handler[256];
int g_orig_present[256];

static uint64_t idt_offset(const idt_entry_t *e) { return e->off0 | ((uint64_t)e->off1 << 16) | ((uint64_t)e->off2 << 32); }
static void idt_set(int v, uint64_t h) { g_idt[v].off0 = (uint16_t)h; g_idt[v].off1 = (uint16_t)(h >> 16); g_idt[v].off2 = (uint32_t)(h >> 32); }

static void idt_install(void) {
    idtr_t cur; __asm__ volatile("sidt %0" : "=m"(cur));
    int n = (cur.limit + 1) / 16; if (n > 256) n = 256;
    const idt_entry_t *old = (const idt_entry_t *)cur.base;
    uint16_t cs; __asm__ volatile("mov %%cs,%0" : "=r"(cs));
    for (int v = 0; v < 256; v++) {
        if (v < n) g_idt[v] = old[v]; else memset(&g_idt[v], 0, sizeof(idt_entry_t));
        g_orig_present[v] = (g_idt[v].attr & 0x80) != 0;
        g_orig_handler[v] = g_orig_present[v] ? idt_offset(&g_idt[v]) : 0;
        /* exceptions always; external vectors only where the firmware has a handler to chain to */
        if (v < 32 || g_orig_present[v]) {
            g_idt[v].sel = cs; g_idt[v].ist = 0; g_idt[v].attr = 0x8E; g_idt[v].zero = 0;
            idt_set(v, isr_stub_table[v]);
        }
    }
    idtr_t nw = {sizeof(g_idt) - 1, (uint64_t)g_idt};
    uint64_t fl = irq_save();
    __asm__ volatile("lidt %0" ::"m"(nw));
    irq_restore(fl);
    trace("interrupts", "IDT at 0x%llx (%d firmware entries) replaced by 0x%llx", cur.base, n, (uint64_t)g_idt);
}

/* ------------------------------------------------------------------ system info */
static EFI_GUID kLoadedImageGuid = {0x5B1B31A1, 0x9562, 0x11d2, {0x8E, 0x3F, 0x00, 0xA0, 0xC9, 0x69, 0x72, 0x3B}};
static EFI_GUID kSimpleFsGuid = {0x964E5B22, 0x6459, 0x11D2, {0x8E, 0x39, 0x00, 0xA0, 0xC9, 0x69, 0x72, 0x3B}};
static EFI_GUID kMpGuid = {0x3FDDA605, 0xA76E, 0x4F46, {0xAD, 0x29, 0x12, 0xF4, 0x53, 0x1B, 0x3D, 0x08}};
static EFI_GUID kDebugSupportGuid = {0x2755590C, 0x6F3C, 0x42FA, {0x9E, 0xA4, 0xA3, 0xBA, 0x54, 0x3C, 0xDA, 0x25}};

static void collect_cpu_info(void) {
    uint32_t r[4];
    cpuid_count(0, 0, r);
    memcpy(g_vendor, &r[1], 4); memcpy(g_vendor + 4, &r[3], 4); memcpy(g_vendor + 8, &r[2], 4); g_vendor[12] = 0;
    cpuid_count(1, 0, r);
    g_has_hypervisor = (r[2] >> 31) & 1;
    g_has_xsave = (r[2] >> 26) & 1;
    if (g_has_hypervisor) {
        uint32_t h[4]; cpuid_count(0x40000000, 0, h);
        memcpy(g_hypervisor, &h[1], 4); memcpy(g_hypervisor + 4, &h[2], 4); memcpy(g_hypervisor + 8, &h[3], 4);
        g_hypervisor[12] = 0;
        for (int i = 0; i < 12; i++) if (g_hypervisor[i] && (g_hypervisor[i] < 0x20 || g_hypervisor[i] > 0x7e)) g_hypervisor[i] = '?';
    }
    if (g_has_xsave) { uint32_t x[4]; cpuid_count(0xD, 0, x); g_xsave_size = x[1]; g_xsave_bitmap = x[0] | ((uint64_t)x[3] << 32); }
}

static uint8_t g_mmap_buf[64 * 1024];
static void collect_memory(void) {
    UINTN size = sizeof(g_mmap_buf), key = 0, dsize = 0; uint32_t dver = 0;
    EFI_STATUS s = gST->BootServices->GetMemoryMap(&size, (EFI_MEMORY_DESCRIPTOR *)g_mmap_buf, &key, &dsize, &dver);
    if (EFI_ERROR(s) || !dsize) { trace("memory", "GetMemoryMap failed 0x%llx", s); return; }
    uint64_t total = 0; int n = 0;
    for (UINTN o = 0; o + dsize <= size; o += dsize, n++) {
        EFI_MEMORY_DESCRIPTOR *d = (EFI_MEMORY_DESCRIPTOR *)(g_mmap_buf + o);
        if (d->Type >= 1 && d->Type <= 7) total += d->NumberOfPages * 4096;
    }
    g_memory_total = total;
    trace("memory", "%d memory descriptors found, %llu MB usable", n, total >> 20);
}

static void collect_image(void) {
    EFI_LOADED_IMAGE_PROTOCOL *li = 0;
    gST->BootServices->HandleProtocol(g_image_handle, &kLoadedImageGuid, (void **)&li);
    g_image_base = (uint64_t)li->ImageBase; g_image_size = li->ImageSize;
    const uint8_t *b = (const uint8_t *)g_image_base;
    uint32_t pe = *(const uint32_t *)(b + 0x3C);
    uint16_t nsec = *(const uint16_t *)(b + pe + 6);
    uint16_t optsz = *(const uint16_t *)(b + pe + 20);
    const uint8_t *opt = b + pe + 24;
    g_entry_point = g_image_base + *(const uint32_t *)(opt + 16);
    const uint8_t *sec = opt + optsz;
    g_text_lo = ~0ull; g_text_hi = 0;
    for (int i = 0; i < nsec; i++, sec += 40) {
        uint32_t vsize = *(const uint32_t *)(sec + 8), va = *(const uint32_t *)(sec + 12), ch = *(const uint32_t *)(sec + 36);
        if (ch & 0x20000000) {
            if (g_image_base + va < g_text_lo) g_text_lo = g_image_base + va;
            if (g_image_base + va + vsize > g_text_hi) g_text_hi = g_image_base + va + vsize;
        }
    }
    trace("image_protocol", "image is %llu bytes, loaded at 0x%010llx, efi_main @ 0x%010llx, PE entry point @ 0x%010llx",
          g_image_size, g_image_base, (uint64_t)&efi_main, g_entry_point);
    trace("image_protocol", "code section 0x%llx-0x%llx, main @ 0x%llx", g_text_lo, g_text_hi, (uint64_t)&main);

    /* compat switch 1: load options containing "compat" */
    if (li->LoadOptions && li->LoadOptionsSize >= 12) {
        const CHAR16 *o = li->LoadOptions; uint32_t n = li->LoadOptionsSize / 2;
        for (uint32_t i = 0; i + 6 <= n; i++)
            if (o[i] == 'c' && o[i + 1] == 'o' && o[i + 2] == 'm' && o[i + 3] == 'p' && o[i + 4] == 'a' && o[i + 5] == 't') g_compat = 1;
    }
    /* compat switch 2: a file \josgdb\compat on the volume the image was loaded from */
    EFI_SIMPLE_FILE_SYSTEM_PROTOCOL *fs = 0;
    if (!EFI_ERROR(gST->BootServices->HandleProtocol(li->DeviceHandle, &kSimpleFsGuid, (void **)&fs)) && fs) {
        EFI_FILE_PROTOCOL *root = 0, *f = 0;
        if (!EFI_ERROR(fs->OpenVolume(fs, &root)) && root) {
            CHAR16 name[] = u"\\josgdb\\compat";
            if (!EFI_ERROR(root->Open(root, &f, name, 1 /* read */, 0)) && f) { g_compat = 1; f->Close(f); }
            root->Close(root);
        }
    }
}

static volatile uint64_t g_periodic_calls;
static void EFIAPI periodic_probe(void *context) { (void)context; g_periodic_calls++; }

static void collect_firmware(void) {
    EFI_MP_SERVICES_PROTOCOL *mp = 0;
    if (!EFI_ERROR(gST->BootServices->LocateProtocol(&kMpGuid, 0, (void **)&mp)) && mp) {
        UINTN total = 0, enabled = 0;
        if (!EFI_ERROR(mp->GetNumberOfProcessors(mp, &total, &enabled))) g_processors = total;
    }
    trace("smp", "%llu processors present", g_processors);
    /* EFI_DEBUG_SUPPORT_PROTOCOL: OVMF (edk2 2022.11 in Debian) only has the EBC interpreter's
     * instance (Isa 0xEBC); there is no x64 one (DebugSupportDxe is not in OVMF), so the stub
     * hooks the interrupt vectors itself. Report what is there, and probe the periodic callback. */
    UINTN count = 0; EFI_HANDLE *handles = 0;
    EFI_STATUS s = gST->BootServices->LocateHandleBuffer(2 /* ByProtocol */, &kDebugSupportGuid, 0, &count, &handles);
    if (EFI_ERROR(s)) count = 0;
    trace("debugger", "EFI_DEBUG_SUPPORT_PROTOCOL: %llu instance(s)", (uint64_t)count);
    for (UINTN i = 0; i < count; i++) {
        EFI_DEBUG_SUPPORT_PROTOCOL *ds = 0;
        if (EFI_ERROR(gST->BootServices->HandleProtocol(handles[i], &kDebugSupportGuid, (void **)&ds)) || !ds) continue;
        g_periodic_calls = 0;
        EFI_STATUS r = ds->RegisterPeriodicCallback(ds, 0, (void *)periodic_probe);
        gST->BootServices->Stall(100000);
        uint64_t n = g_periodic_calls;
        ds->RegisterPeriodicCallback(ds, 0, 0);
        trace("debugger", "EFI_DEBUG_SUPPORT_PROTOCOL isa 0x%x%s: RegisterPeriodicCallback status 0x%llx, %llu callbacks in 100 ms",
              ds->Isa, ds->Isa == 0x8664 ? " (x64)" : ds->Isa == 0xEBC ? " (EBC interpreter)" : "", r, n);
        if (ds->Isa == 0x8664) g_debug_support_present = 1;
    }
    if (handles) gST->BootServices->FreePool(handles);
}

/* OVMF binds its terminal (console) driver to every 16550 it finds, COM2 included: it prints
 * the boot log there and, worse, polls the port for keyboard input from a timer event, which
 * would steal host bytes. Disconnect the drivers from the debug UART's SerialIo handle. */
static EFI_GUID kSerialIoGuid = {0xBB25CF6F, 0xF1D4, 0x11D2, {0x9A, 0x0C, 0x00, 0x90, 0x27, 0x3F, 0xC1, 0xFD}};
static EFI_GUID kDevicePathGuid = {0x09576E91, 0x6D3F, 0x11D2, {0x8E, 0x39, 0x00, 0xA0, 0xC9, 0x69, 0x72, 0x3B}};
static void release_debug_uart(void) {
    if (DEBUG_PORT != 0x2F8) return; /* COM1 stays shared with the firmware, like josx64 */
    UINTN count = 0; EFI_HANDLE *handles = 0;
    if (EFI_ERROR(gST->BootServices->LocateHandleBuffer(2 /* ByProtocol */, &kSerialIoGuid, 0, &count, &handles))) return;
    for (UINTN i = 0; i < count; i++) {
        uint8_t *dp = 0;
        if (EFI_ERROR(gST->BootServices->HandleProtocol(handles[i], &kDevicePathGuid, (void **)&dp)) || !dp) continue;
        int com2 = 0;
        for (int guard = 0; guard < 64 && dp[0] != 0x7F; guard++) {
            uint16_t len = *(uint16_t *)(dp + 2);
            if (dp[0] == 2 && dp[1] == 1 && len >= 12 && *(uint32_t *)(dp + 4) == 0x050141D0 && *(uint32_t *)(dp + 8) == 1) com2 = 1;
            if (len < 4) break;
            dp += len;
        }
        if (com2) {
            EFI_STATUS s = gST->BootServices->DisconnectController(handles[i], 0, 0);
            trace("serial", "firmware console disconnected from COM2 (status 0x%llx)", s);
        }
    }
    gST->BootServices->FreePool(handles);
}

static void calibrate_tsc(void) {
    uint64_t t0 = rdtsc();
    gST->BootServices->Stall(10000);
    uint64_t t1 = rdtsc();
    if (t1 > t0) g_tsc_per_sec = (t1 - t0) * 100;
    trace("clock", "TSC %llu MHz", g_tsc_per_sec / 1000000);
}

EFI_STATUS EFIAPI efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *st) {
    gST = st;
    g_image_handle = image;
    st->BootServices->SetWatchdogTimer(0, 0, 0, 0); /* or the boot manager resets us after 5 min */
    release_debug_uart();
    serial_init();
    trace("kernel", "stub-uefi starting (debug UART 0x%x)", DEBUG_PORT);
    collect_image();
    trace("kernel", "mode: %s", g_compat ? "compat (josx64 flaws, no extensions)" : "normal (extensions)");
    collect_memory();
    collect_cpu_info();
    collect_firmware();
    calibrate_tsc();
    g_task_stack_lo = (uint64_t)g_task_stack;
    g_task_stack_hi = (uint64_t)g_task_stack + TASK_STACK_SIZE;
    idt_install();
    trace("interrupts", "initialised");
    trace("debugger", "waiting for connection");
    debugger_wait_for_connection();
    trace("debugger", "connected");
    trace("tasks", "created task \"main\" 0x%llx, stack 0x%llx-0x%llx", (uint64_t)&main, g_task_stack_lo, g_task_stack_hi);
    debugger_set_initial_breakpoint((uint64_t)&main);
    run_on_stack(task_main, g_task_stack_hi);
    return 0;
}
