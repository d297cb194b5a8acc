// Helpers for the kernel tests: random weights in every format, ISA switching, error norms.
#pragma once
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"
#include "tensor/weight.h"

namespace gemma4::test {

inline std::vector<float> random_floats(int64_t count, uint32_t seed, float scale = 1.f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(static_cast<size_t>(count));
  for (auto& x : v) x = dist(rng);
  return v;
}

// A bf16 weight of normal random values (as a checkpoint stores it), owning its storage.
inline Weight random_bf16_weight(int64_t rows, int64_t cols, uint32_t seed) {
  const auto values = random_floats(rows * cols, seed, 0.05f);
  auto storage = std::shared_ptr<uint16_t[]>(new uint16_t[static_cast<size_t>(rows * cols)]);
  for (int64_t i = 0; i < rows * cols; ++i) storage[i] = f32_to_bf16(values[i]);
  Weight w;
  w.format = WeightFormat::bf16;
  w.rows = rows;
  w.cols = cols;
  w.data = storage.get();
  w.owner = std::shared_ptr<const void>(storage, storage.get());
  w.name = "random";
  return w;
}

// A float32 weight viewing `data` (rows × cols, row-major); data must outlive it.
inline Weight f32_weight(const std::vector<float>& data, int64_t rows, int64_t cols) {
  return f32_matrix_view(data.data(), rows, cols, "test");
}

// Sets the kernels' ISA for one scope.
class IsaScope {
 public:
  explicit IsaScope(kernels::Isa isa) : saved_(kernels::active_isa()) { kernels::set_isa(isa); }
  ~IsaScope() { kernels::set_isa(saved_); }

 private:
  kernels::Isa saved_;
};

inline std::vector<kernels::Isa> supported_isas() {
  std::vector<kernels::Isa> out;
  for (auto isa : {kernels::Isa::scalar, kernels::Isa::avx2, kernels::Isa::avx512})
    if (kernels::isa_supported(isa)) out.push_back(isa);
  return out;
}

// ||a - b|| / ||b||
inline double relative_l2(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    den += double(b[i]) * b[i];
  }
  return std::sqrt(num / (den > 0 ? den : 1));
}

}  // namespace gemma4::test
