#include "kernels/batch_ops.h"

#include <algorithm>
#include <cmath>

#include "base/thread_pool.h"
#include "kernels/isa.h"
#include "kernels/reference_ops.h"

namespace gemma4::kernels {
namespace detail {
void silu_avx512(float* x, int64_t n);
void sigmoid_mul_avx512(const float* a, const float* b, int64_t n, float* out);
void layer_norm_relu_avx512(float* x, int64_t width, const float* g, float eps);
void clamp_copy_avx512(const float* x, float* y, int64_t n, float lo, float hi);
void add_scaled_avx512(float* x, const float* h, float scale, int64_t n);
void multiply_add_avx512(float* out, const float* a, const float* b, int64_t n);
void rope_apply_avx512(float* x, int64_t half, const float* cos, const float* sin);
}  // namespace detail

namespace {

void silu_rows_scalar(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = silu_scalar(x[i]);
}

void sigmoid_mul_scalar(const float* a, const float* b, int64_t n, float* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] / (1.f + std::exp(-b[i]));
}

void layer_norm_relu_scalar(float* x, int64_t width, const float* g, float eps) {
  float mean = 0.f, var = 0.f;
  for (int64_t i = 0; i < width; ++i) mean += x[i];
  mean /= static_cast<float>(width);
  for (int64_t i = 0; i < width; ++i) var += (x[i] - mean) * (x[i] - mean);
  const float inv = 1.f / std::sqrt(var / static_cast<float>(width) + eps);
  for (int64_t i = 0; i < width; ++i) x[i] = std::max((x[i] - mean) * inv * g[i], 0.f);
}

bool use_avx512() { return active_isa() == Isa::avx512; }

}  // namespace

void silu(float* x, int64_t n) {
  const auto fn = use_avx512() ? detail::silu_avx512 : silu_rows_scalar;
  parallel_ranges(n, 16, [&](int64_t i0, int64_t i1) { fn(x + i0, i1 - i0); });
}

void glu_sigmoid(const float* in, int64_t rows, int64_t width, float* out) {
  const auto fn = use_avx512() ? detail::sigmoid_mul_avx512 : sigmoid_mul_scalar;
  parallel_ranges(rows, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) fn(in + t * 2 * width, in + t * 2 * width + width, width, out + t * width);
  });
}

void layer_norm_relu_rows(float* x, int64_t rows, int64_t width, const float* g, float eps) {
  const auto fn = use_avx512() ? detail::layer_norm_relu_avx512 : layer_norm_relu_scalar;
  for (int64_t r = 0; r < rows; ++r) fn(x + r * width, width, g, eps);
}

void clamp_copy(const float* x, float* y, int64_t n, float lo, float hi) {
  if (use_avx512()) return detail::clamp_copy_avx512(x, y, n, lo, hi);
  for (int64_t i = 0; i < n; ++i) y[i] = std::clamp(x[i], lo, hi);
}

void add_scaled(float* x, const float* h, float scale, int64_t n) {
  if (use_avx512()) return detail::add_scaled_avx512(x, h, scale, n);
  for (int64_t i = 0; i < n; ++i) x[i] += scale * h[i];
}

void multiply_add(float* out, const float* a, const float* b, int64_t n) {
  if (use_avx512()) return detail::multiply_add_avx512(out, a, b, n);
  for (int64_t i = 0; i < n; ++i) out[i] += a[i] * b[i];
}

void rope_apply_vectors(float* x, int64_t count, int64_t dim, int64_t sets, const float* cos, const float* sin) {
  const int64_t half = dim / 2;
  const bool avx512 = use_avx512();
  for (int64_t v = 0; v < count; ++v) {
    float* xv = x + v * dim;
    const int64_t angles = (v % sets) * half;
    if (avx512)
      detail::rope_apply_avx512(xv, half, cos + angles, sin + angles);
    else
      rope_apply(xv, dim, cos + angles, sin + angles);
  }
}

}  // namespace gemma4::kernels
