#include "kernels/bandwidth.h"

#include <chrono>
#include <cstring>
#include <memory>

#include "base/large_buffer.h"
#include "base/thread_pool.h"

namespace gemma4::kernels {
namespace {

// Four independent sums so the loads, not an add chain, set the pace.
uint64_t sum_words(const uint64_t* p, int64_t count) {
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= count; i += 4) {
    s0 += p[i];
    s1 += p[i + 1];
    s2 += p[i + 2];
    s3 += p[i + 3];
  }
  for (; i < count; ++i) s0 += p[i];
  return s0 + s1 + s2 + s3;
}

}  // namespace

double measure_read_bandwidth(int64_t bytes, int repeats) {
  if (bytes <= 0) bytes = int64_t{512} << 20;
  const int64_t words = bytes / 8;
  // Allocated like the converted weights (huge pages), so the ceiling is the one they meet.
  const std::shared_ptr<uint8_t> storage = allocate_large_buffer(static_cast<size_t>(words) * 8);
  const auto buffer = [&] { return reinterpret_cast<uint64_t*>(storage.get()); };
  // Touch every page in parallel (so first-touch places pages near the reading threads).
  parallel_ranges(words, 512, [&](int64_t b, int64_t e) {
    std::memset(buffer() + b, 1, static_cast<size_t>(e - b) * 8);
  }, 1);
  double best = 0.0;
  volatile uint64_t sink = 0;
  for (int r = 0; r < repeats; ++r) {
    const auto start = std::chrono::steady_clock::now();
    parallel_ranges(words, 512, [&](int64_t b, int64_t e) { sink = sink + sum_words(buffer() + b, e - b); }, 1);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (seconds > 0) best = best > bytes / seconds ? best : bytes / seconds;
  }
  return best;
}

}  // namespace gemma4::kernels
