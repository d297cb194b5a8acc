#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <string>
#include <utility>
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

// Tapering ranges cover the total once with aligned starts, shrink as they go (each at most
// the one before it, the last of them a single aligned unit when there are many), on 1-3 threads.
TEST(ThreadPool, TaperingRangesCoverTotalAndShrink) {
  for (int threads : {1, 2, 3}) {
    set_num_threads(threads);
    for (int64_t total : {1, 15, 16, 17, 1000, 1536, 262144}) {
      SCOPED_TRACE(std::to_string(threads) + " threads, total " + std::to_string(total));
      std::vector<std::atomic<int>> hits(static_cast<size_t>(total));
      std::mutex m;
      std::vector<std::pair<int64_t, int64_t>> ranges;
      parallel_ranges_tapering(total, 16, [&](int64_t b, int64_t e) {
        EXPECT_EQ(b % 16, 0);
        EXPECT_LT(b, e);
        EXPECT_LE(e, total);
        for (int64_t i = b; i < e; ++i) hits[i]++;
        std::lock_guard<std::mutex> lock(m);
        ranges.emplace_back(b, e);
      });
      for (auto& h : hits) ASSERT_EQ(h.load(), 1);
      std::sort(ranges.begin(), ranges.end());
      for (size_t i = 1; i + 1 < ranges.size(); ++i)  // the very last may be cut short by total
        EXPECT_LE(ranges[i].second - ranges[i].first, ranges[i - 1].second - ranges[i - 1].first);
      if (total >= 1000) {
        EXPECT_GT(ranges.size(), size_t{2} * threads);
        EXPECT_EQ(ranges.back().second - ranges.back().first, std::min<int64_t>(16, total - ranges.back().first));
      }
    }
  }
  set_num_threads(0);
}
