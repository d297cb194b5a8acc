// Weights for the kernel benchmarks (bench_kernels, bench_batch_decode): random bf16
// matrices and copies of them that together exceed the caches.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "base/thread_pool.h"
#include "tensor/dtype.h"
#include "tensor/weight.h"

namespace gemma4::bench {

// Random-looking bf16 weights, normal-ish with σ ≈ 0.03, filled in parallel (a hash, not a
// generator, so threads need no shared state).
inline Weight random_bf16(int64_t rows, int64_t cols) {
  auto storage = std::shared_ptr<uint16_t[]>(new uint16_t[static_cast<size_t>(rows * cols)]);
  uint16_t* p = storage.get();
  parallel_ranges(rows * cols, 4096, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      uint64_t h = static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
      h ^= h >> 29;
      h *= 0xBF58476D1CE4E5B9ull;
      h ^= h >> 32;
      // Sum of four uniforms: roughly normal.
      float s = 0;
      for (int k = 0; k < 4; ++k) s += static_cast<float>((h >> (16 * k)) & 0xffff) / 65536.f - 0.5f;
      p[i] = f32_to_bf16(s * 0.05f);
    }
  });
  Weight w;
  w.format = WeightFormat::bf16;
  w.rows = rows;
  w.cols = cols;
  w.data = p;
  w.owner = std::shared_ptr<const void>(storage, p);
  w.name = "bench";
  return w;
}

// Copies of w whose total size exceeds the caches, so each matmul reads memory.
inline std::vector<Weight> cache_busting_copies(const Weight& w, int64_t min_total_bytes) {
  const int64_t bytes = w.total_bytes();
  const int64_t copies = std::max<int64_t>(1, std::min<int64_t>(64, (min_total_bytes + bytes - 1) / bytes));
  std::vector<Weight> out{w};
  for (int64_t c = 1; c < copies; ++c) {
    auto storage = std::shared_ptr<uint8_t[]>(new uint8_t[static_cast<size_t>(bytes)]);
    std::memcpy(storage.get(), w.data, static_cast<size_t>(bytes));
    Weight copy = w;
    copy.data = storage.get();
    copy.owner = std::shared_ptr<const void>(storage, storage.get());
    out.push_back(copy);
  }
  return out;
}

}  // namespace gemma4::bench
