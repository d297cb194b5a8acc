// The process heap as the operating system sees it (glibc malloc; no-ops on other C libraries).
//
// glibc gives every thread that allocates concurrently an arena of its own (up to 8 per core)
// and keeps what is freed there for reuse: an arena's free top up to the trim threshold, which
// glibc raises with the largest block freed so far (up to 64 MiB), and every freed block in its
// middle. A server whose many threads each decode and encode media (megabytes of pixels and
// activations, freed at the end of the request) so holds about one media working set per thread
// on top of what it uses. Measured with bench/serve_memory.mjs on the tests' tiny model: 137 MB
// after 500 mixed requests (still creeping with image requests), 58 MB with the calls below.
#pragma once

namespace gemma4 {

// Caps the number of malloc arenas (call once at start-up, before threads allocate): the memory
// held beyond what is in use is then at most `arenas` working sets instead of one per thread.
// The price is lock contention between threads that allocate at the same moment, small for a
// server whose threads mostly compute. (Fixing the mmap threshold low instead bounds memory as
// well, but maps and faults in every large block anew: +1.3 s of system time on a 6-7 s image
// encode of E2B.)
void limit_heap_arenas(int arenas);

// Returns the free memory inside every arena to the system (malloc_trim). Walks the arenas' free
// lists: call it after a large transient working set is freed, not per token.
void release_free_heap();

}  // namespace gemma4
