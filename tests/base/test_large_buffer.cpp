#include "base/large_buffer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace gemma4 {
namespace {

TEST(LargeBuffer, AlignedZeroedAndDisjoint) {
  // Small buffers share an arena chunk, large ones get their own mapping.
  const std::vector<size_t> sizes = {1, 100, 4096, 3 << 20, 40 << 20, 5, 1 << 20};
  std::vector<std::shared_ptr<uint8_t>> buffers;
  for (size_t size : sizes) {
    buffers.push_back(allocate_large_buffer(size));
    const uint8_t* p = buffers.back().get();
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << size;
    for (size_t i = 0; i < size; i += 4093) EXPECT_EQ(p[i], 0) << size;
  }
  // Fill each with its own byte, then check nothing overwrote another.
  for (size_t i = 0; i < sizes.size(); ++i) std::memset(buffers[i].get(), static_cast<int>(i + 1), sizes[i]);
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(buffers[i].get()[0], i + 1);
    EXPECT_EQ(buffers[i].get()[sizes[i] - 1], i + 1);
  }
}

TEST(LargeBuffer, OutlivesOtherBuffersOfItsChunk) {
  std::shared_ptr<uint8_t> kept = allocate_large_buffer(1000);
  { std::shared_ptr<uint8_t> dropped = allocate_large_buffer(2000); }
  std::memset(kept.get(), 7, 1000);  // still mapped: ASan/valgrind would flag it otherwise
  EXPECT_EQ(kept.get()[999], 7);
}

}  // namespace
}  // namespace gemma4
