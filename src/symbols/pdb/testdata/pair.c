/* PDB reader fixture, built at -O2: a small struct split across registers
 * gives S_DEFRANGE_SUBFIELD_REGISTER. */
struct pair {
  int a;
  int b;
};

struct pair make_pair(int x);

__declspec(noinline) int use_pair(int x) {
  struct pair p = make_pair(x);
  p.a += 1;
  p.b *= 3;
  return p.a + p.b * x;
}

struct pair make_pair(int x) {
  struct pair r = {x, x + 1};
  return r;
}
