#include "base/heap.h"

#include <cstdlib>  // defines __GLIBC__ on glibc (it is not predefined)

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace gemma4 {

void fix_heap_thresholds(size_t mmap_threshold, size_t trim_threshold) {
#if defined(__GLIBC__)
  // Setting either turns glibc's dynamic adjustment of both off.
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(mmap_threshold));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(trim_threshold));
#else
  (void)mmap_threshold;
  (void)trim_threshold;
#endif
}

void release_free_heap() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace gemma4
