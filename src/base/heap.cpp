#include "base/heap.h"

#include <cstdlib>  // defines __GLIBC__ on glibc (it is not predefined)

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace gemma4 {

void limit_heap_arenas(int arenas) {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, arenas);
#else
  (void)arenas;
#endif
}

void release_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace gemma4
