#include "kernels/batch_ops.h"

#include <cmath>

#include "base/thread_pool.h"
#include "kernels/isa.h"

namespace gemma4::kernels {
namespace detail {
void gelu_tanh_mul_avx512(float* gate, const float* up, int64_t n);
void silu_avx512(float* x, int64_t n);
void sigmoid_mul_avx512(const float* a, const float* b, int64_t n, float* out);
}  // namespace detail

namespace {

void gelu_tanh_mul_scalar(float* gate, const float* up, int64_t n) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  for (int64_t i = 0; i < n; ++i) {
    const float x = gate[i];
    gate[i] = 0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x))) * up[i];
  }
}

void silu_scalar(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + std::exp(-x[i]));
}

void sigmoid_mul_scalar(const float* a, const float* b, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] / (1.f + std::exp(-b[i]));
}

bool use_avx512() { return active_isa() == Isa::avx512; }

}  // namespace

void silu(float* x, int64_t n) {
  const auto fn = use_avx512() ? detail::silu_avx512 : silu_scalar;
  parallel_ranges(n, 16, [&](int64_t i0, int64_t i1) { fn(x + i0, i1 - i0); });
}

void glu_sigmoid(const float* in, int64_t rows, int64_t width, float* out) {
  const auto fn = use_avx512() ? detail::sigmoid_mul_avx512 : sigmoid_mul_scalar;
  parallel_ranges(rows, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) fn(in + t * 2 * width, in + t * 2 * width + width, width, out + t * width);
  });
}

void gelu_tanh_mul(float* gate, const float* up, int64_t n) {
  const auto fn = active_isa() == Isa::avx512 ? detail::gelu_tanh_mul_avx512 : gelu_tanh_mul_scalar;
  parallel_ranges(n, 16, [&](int64_t i0, int64_t i1) { fn(gate + i0, up + i0, i1 - i0); });
}

}  // namespace gemma4::kernels
