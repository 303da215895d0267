// Type-decoder fixture: the record kinds the shared symbol fixtures lack.
// Pointers to data and function members under each inheritance model,
// references, restrict/unaligned/cv pointers, overloaded and introducing-virtual
// methods (LF_METHOD + LF_METHODLIST), virtual and indirect virtual bases,
// nested types, wide and negative numeric leaves, an undefined forward
// reference, and an enum long enough that its field list needs LF_INDEX.
// The enum size_oracle records sizeof() of each global as the compiler saw it,
// so the test can check computed type sizes against the compiler itself.

struct Base {
  int b;
  virtual int f();
};
struct Left : virtual Base {
  int l;
};
struct Right : virtual Base {
  int r;
};
struct Diamond : Left, Right {
  int d;
  int f() override;
};

struct Overloads {
  int go(int v);
  int go(long v) const;
  static int go(char v);
  virtual int v(int x);
  virtual int v(double x);
  int plain;
};

struct Outer {
  struct Inner {
    int x;
  } inner;
  enum class Mode : unsigned char { A, B = 200 };
  typedef int Alias;
  Mode mode;
  Alias alias;
};

struct Opaque;

enum Wide : unsigned long long { W_BIG = 0xFFFFFFFFFFFFFFFFull, W_MID = 0x123456789ull, W_USHORT = 0x9000 };
enum Signed : long long {
  S_NEG = -5,
  S_SHORT = -1000,
  S_LONG = -100000,
  S_MIN = -9223372036854775807LL - 1,
};

struct Big {
  char data[0x12345];
};

#pragma pack(push, 1)
struct Packed {
  char c;
  int i;
  unsigned long long q : 40;
};
#pragma pack(pop)

struct {
  int anon_a;
  union {
    float anon_f;
    int anon_i;
  };
} g_anonymous;
// Escapes the internal-linkage variable above so the optimizer keeps it.
void *g_anonymous_escape = &g_anonymous;

#define E10(p) p##0, p##1, p##2, p##3, p##4, p##5, p##6, p##7, p##8, p##9
#define E100(p) E10(p##0), E10(p##1), E10(p##2), E10(p##3), E10(p##4), E10(p##5), E10(p##6), E10(p##7), E10(p##8), E10(p##9)
#define E1000(p) E100(p##0), E100(p##1), E100(p##2), E100(p##3), E100(p##4), E100(p##5), E100(p##6), E100(p##7), E100(p##8), E100(p##9)
enum Many { E1000(MANY_ENUMERATOR_WITH_A_LONG_NAME_A), E1000(MANY_ENUMERATOR_WITH_A_LONG_NAME_B), E1000(MANY_ENUMERATOR_WITH_A_LONG_NAME_C) };

int Base::f() { return b; }
int Diamond::f() { return d; }
int Overloads::go(int v) { return v + plain; }
int Overloads::go(long v) const { return static_cast<int>(v) + plain; }
int Overloads::go(char v) { return v; }
int Overloads::v(int x) { return x; }
int Overloads::v(double x) { return static_cast<int>(x); }

int g_int = 1;
int Outer::*g_data_member_ptr = &Outer::alias;
int (Overloads::*g_method_ptr)(int) = &Overloads::go;
int (Diamond::*g_virtual_method_ptr)() = &Diamond::f;
int Diamond::*g_virtual_data_ptr = &Diamond::d;
int &g_lref = g_int;
int &&g_rref = 5;
int *__restrict g_restrict;
__unaligned int *g_unaligned;
int *const volatile g_cv_ptr = &g_int;
const volatile int g_cv = 2;
extern const char *const g_strings[2][3] = {};
int (*g_callbacks[4])(int, ...);
int (__vectorcall *g_vectorcall)(double);
Opaque *g_opaque;
Wide g_wide;
Signed g_signed;
Big g_big;
Packed g_packed;
Many g_many;
Diamond g_diamond;
Overloads g_overloads;
Outer g_outer;
long double g_long_double;
wchar_t g_wchar;
char16_t g_char16;
char32_t g_char32;
bool g_bool;
signed char g_schar;
unsigned short g_ushort;
short g_short;
unsigned long g_ulong;
long long g_longlong;
double g_double;
__int128 g_int128;
void *g_void_ptr;
decltype(nullptr) g_nullptr;

enum size_oracle : unsigned long long {
  SIZEOF_g_data_member_ptr = sizeof(g_data_member_ptr),
  SIZEOF_g_method_ptr = sizeof(g_method_ptr),
  SIZEOF_g_virtual_method_ptr = sizeof(g_virtual_method_ptr),
  SIZEOF_g_virtual_data_ptr = sizeof(g_virtual_data_ptr),
  SIZEOF_g_strings = sizeof(g_strings),
  SIZEOF_g_callbacks = sizeof(g_callbacks),
  SIZEOF_g_big = sizeof(g_big),
  SIZEOF_g_packed = sizeof(g_packed),
  SIZEOF_g_many = sizeof(g_many),
  SIZEOF_g_diamond = sizeof(g_diamond),
  SIZEOF_g_overloads = sizeof(g_overloads),
  SIZEOF_g_outer = sizeof(g_outer),
  SIZEOF_g_anonymous = sizeof(g_anonymous),
  SIZEOF_g_long_double = sizeof(g_long_double),
  SIZEOF_g_wide = sizeof(g_wide),
  SIZEOF_g_int128 = sizeof(g_int128),
  SIZEOF_g_nullptr = sizeof(g_nullptr),
  SIZEOF_g_int = sizeof(g_int),
  SIZEOF_g_restrict = sizeof(g_restrict),
  SIZEOF_g_unaligned = sizeof(g_unaligned),
  SIZEOF_g_cv_ptr = sizeof(g_cv_ptr),
  SIZEOF_g_cv = sizeof(g_cv),
  SIZEOF_g_vectorcall = sizeof(g_vectorcall),
  SIZEOF_g_opaque = sizeof(g_opaque),
  SIZEOF_g_signed = sizeof(g_signed),
  SIZEOF_g_wchar = sizeof(g_wchar),
  SIZEOF_g_char16 = sizeof(g_char16),
  SIZEOF_g_char32 = sizeof(g_char32),
  SIZEOF_g_bool = sizeof(g_bool),
  SIZEOF_g_schar = sizeof(g_schar),
  SIZEOF_g_ushort = sizeof(g_ushort),
  SIZEOF_g_short = sizeof(g_short),
  SIZEOF_g_ulong = sizeof(g_ulong),
  SIZEOF_g_longlong = sizeof(g_longlong),
  SIZEOF_g_double = sizeof(g_double),
  SIZEOF_g_void_ptr = sizeof(g_void_ptr),
};
size_oracle g_size_oracle;

// Floating-point code references this symbol; there is no CRT to provide it.
extern "C" int _fltused = 0;

extern "C" int kinds_entry(void *, void *) {
  Diamond d;
  Overloads o;
  return d.f() + o.go(1) + (o.*g_method_ptr)(2) + g_lref + g_rref;
}
