// PDB reader fixture (built by the PDB tests, not the lead's fixture set):
// record kinds the main fixture lacks. Built at -O0 so locals live in the
// frame (S_DEFRANGE_FRAMEPOINTER_REL) and a by-reference aggregate gives
// S_DEFRANGE_REGISTER_REL; thread_local gives S_GTHREAD32/S_LTHREAD32; a
// file static gives S_LDATA32; used constants give S_CONSTANT; a call to an
// allocator-declared function gives S_HEAPALLOCSITE.
struct big {
  long a, b, c, d;
};

extern "C" unsigned int _tls_index = 0; // freestanding: no CRT provides it

thread_local int extra_tls_counter = 5;
static thread_local int extra_tls_hidden = 6;
static int extra_file_static = 9;

namespace extra_ns {
const int kLimit = 42;
enum { kEnumerator = 3 };
} // namespace extra_ns

__declspec(allocator) void *extra_alloc(unsigned long n);
extern "C" int asm_helper(int);
extern "C" int asm_other(void);
extern "C" int use_pair(int);

__declspec(noinline) long take_big(struct big b) { return b.a + b.d; }

extern "C" int extra_entry(int n) {
  volatile int local = n;
  void *p = extra_alloc(16);
  struct big b = {1, 2, 3, 4};
  extra_tls_hidden += extra_file_static;
  return local + (int)take_big(b) + extra_tls_counter + extra_ns::kLimit + (p ? 1 : 0) + asm_helper(n) +
         asm_other() + use_pair(n) + extra_ns::kEnumerator;
}
