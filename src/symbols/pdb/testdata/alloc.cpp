// PDB reader fixture: the allocator behind extra.cpp's heap allocation site,
// with a function-local static (S_LDATA32 inside a procedure).
void *extra_alloc(unsigned long n) {
  static char pool[64];
  return n < sizeof pool ? pool : nullptr;
}
