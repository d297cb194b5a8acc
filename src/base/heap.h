// The process heap as the operating system sees it (glibc malloc; no-ops on other C libraries).
//
// glibc gives every thread that allocates concurrently an arena of its own (up to 8 per core)
// and keeps memory freed there for reuse. Two of its defaults make a long-running server whose
// threads each handle large transient buffers (decoded images, tower activations: megabytes,
// freed at the end of the request) hold far more memory than it uses:
//  - the mmap threshold is dynamic: once a large mmap'd block is freed, blocks up to that size
//    (up to 32 MiB) come from the arenas from then on, and the trim threshold (the free space an
//    arena keeps at its top) doubles it; every arena ends up keeping its largest working set;
//  - freed blocks in the middle of an arena stay resident until malloc_trim.
#pragma once
#include <cstddef>

namespace gemma4 {

// Fixes the thresholds (call once at start-up): blocks of `mmap_threshold` bytes and more are
// mapped on their own and unmapped when freed; an arena returns its free top beyond
// `trim_threshold` at once. Costs a mapping and page faults per large block, small next to the
// arithmetic that fills such a block.
void fix_heap_thresholds(size_t mmap_threshold = size_t{256} << 10, size_t trim_threshold = size_t{512} << 10);

// Returns the free memory inside every arena to the system (malloc_trim). Walks the arenas'
// free lists: call it after a large transient working set is freed, not per token.
void release_free_heap();

}  // namespace gemma4
