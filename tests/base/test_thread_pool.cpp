#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "base/thread_pool.h"

using namespace gemma4;

TEST(ThreadPool, RunsEveryTaskOnce) {
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    EXPECT_EQ(num_threads(), threads);
    std::vector<std::atomic<int>> hits(1000);
    for (int round = 0; round < 50; ++round) parallel_for(1000, [&](int64_t i) { hits[i]++; });
    for (auto& h : hits) ASSERT_EQ(h.load(), 50);
  }
  set_num_threads(0);
}

TEST(ThreadPool, NestedCallsRunSerially) {
  std::atomic<int64_t> total{0};
  parallel_for(8, [&](int64_t) { parallel_for(10, [&](int64_t j) { total += j; }); });
  EXPECT_EQ(total.load(), 8 * 45);
}

TEST(ThreadPool, RangesCoverTotalWithAlignedStarts) {
  for (int64_t total : {1, 15, 16, 17, 1000, 262144}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(total));
    parallel_ranges(total, 16, [&](int64_t b, int64_t e) {
      EXPECT_EQ(b % 16, 0);
      EXPECT_LE(e, total);
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    for (auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}
