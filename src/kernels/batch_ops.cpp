#include "kernels/batch_ops.h"

#include <cmath>

#include "base/thread_pool.h"
#include "kernels/isa.h"

namespace gemma4::kernels {
namespace detail {
void gelu_tanh_mul_avx512(float* gate, const float* up, int64_t n);
}  // namespace detail

namespace {

void gelu_tanh_mul_scalar(float* gate, const float* up, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = 0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x))) * up[i];
  }
}

}  // namespace

void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
  const auto fn = active_isa() == Isa::avx512 ? detail::gelu_tanh_mul_avx512 : gelu_tanh_mul_scalar;
  parallel_ranges(n, 16, [&](int64_t i0, int64_t i1) { fn(gate + i0, up + i0, i1 - i0); });
}

}  // namespace gemma4::kernels
