// release_free_heap() really hands freed memory back (it once compiled to a no-op because the
// glibc check ran before any header had defined __GLIBC__).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "base/heap.h"

namespace {

// Anonymous resident memory of this process (smaps_rollup "Anonymous"), KiB; -1 if unreadable.
long anonymous_kib() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Anonymous:", 0) == 0) return std::stol(line.substr(10));
  return -1;
}

}  // namespace

#if defined(__GLIBC__)
TEST(Heap, ReleaseFreeHeapReturnsFreedBlocksInsideAnArena) {
  ASSERT_GE(anonymous_kib(), 0) << "no /proc/self/smaps_rollup";
  // 24 MiB in 1 KiB blocks (far below any mmap threshold); one block in 64 stays allocated, so
  // the freed ones form 63 KiB holes between live blocks: the arena cannot shrink its top to
  // return them, only release_free_heap() can (as with the server's arenas).
  constexpr int kBlocks = 24 * 1024, kKeepEvery = 64;
  long before = 0, allocated = 0, freed = 0, released = 0;
  std::thread([&] {  // a thread of its own: an arena no other test is using
    before = anonymous_kib();
    std::vector<char*> blocks(kBlocks);
    for (char*& b : blocks) {
      b = static_cast<char*>(std::malloc(1024));
      static_cast<volatile char*>(b)[0] = 1;  // resident (and not optimized away)
    }
    allocated = anonymous_kib();
    for (int i = 0; i < kBlocks; ++i)
      if (i % kKeepEvery != kKeepEvery - 1) std::free(blocks[i]);
    freed = anonymous_kib();
    gemma4::release_free_heap();
    released = anonymous_kib();
    for (int i = kKeepEvery - 1; i < kBlocks; i += kKeepEvery) std::free(blocks[i]);
  }).join();
  const std::string trace = "before " + std::to_string(before) + " KiB, allocated " + std::to_string(allocated) +
                            ", after free " + std::to_string(freed) + ", after release " + std::to_string(released);
  EXPECT_GT(allocated - before, 20 * 1024) << trace;
  EXPECT_GT(freed - before, 20 * 1024) << trace;    // freeing alone keeps the pages...
  EXPECT_LT(released - before, 4 * 1024) << trace;  // ...releasing returns them
}
#endif
