#include "kernels/vector_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/isa.h"
#include "kernels/reference_ops.h"
#include "kernels/vector_ops_internal.h"
#include "tensor/dtype.h"

namespace gemma4::kernels {
namespace detail {
namespace {

float dot_scalar(const float* a, const float* b, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy_scalar(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void gelu_tanh_mul_scalar(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = gelu_tanh(g[i]) * u[i];
}

}  // namespace

const VectorOps& scalar_vector_ops() {
  static const VectorOps ops{dot_scalar, axpy_scalar, rms_norm, gelu_tanh_mul_scalar, softcap_inplace,
                             softmax_inplace};
  return ops;
}

}  // namespace detail

namespace {

const detail::VectorOps& active_ops() {
  switch (active_isa()) {
    case Isa::avx512: return detail::avx512_vector_ops();
    case Isa::avx2: return detail::avx2_vector_ops();
    case Isa::scalar: break;
  }
  return detail::scalar_vector_ops();
}

// Elementwise work below this many values runs on the calling thread.
constexpr int64_t kMinParallelElements = 1 << 16;
constexpr int64_t kAlign = 64;  // whole cache lines per thread
// gelu_tanh_mul costs ~0.4 ns per value (a tanh each), several times a copy or a norm: from
// this many values (a 4-row decode batch's MLP, 4 × 6144) halving it beats waking the pool.
constexpr int64_t kMinParallelGelu = 1 << 14;

// log Σ exp(x[i]), from the largest: what a softmax of x divides by, as a logarithm.
float log_sum_exp(const float* x, int64_t n) {
  float largest = x[0];
  for (int64_t i = 1; i < n; ++i) largest = std::max(largest, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(x[i]) - largest);
  return largest + static_cast<float>(std::log(sum));
}

}  // namespace

float dot(const float* a, const float* b, int64_t n) { return active_ops().dot(a, b, n); }

void axpy(float a, const float* x, float* y, int64_t n) { active_ops().axpy(a, x, y, n); }

void rms_norm_rows(const float* x, const float* w, int64_t rows, int64_t n, double eps, float* y) {
  const auto& ops = active_ops();
  auto run = [&](int64_t r0, int64_t r1) {
    if (ops.rms_norm_rows) return ops.rms_norm_rows(x + r0 * n, w, r1 - r0, n, eps, y + r0 * n);
    for (int64_t r = r0; r < r1; ++r) ops.rms_norm(x + r * n, w, n, eps, y + r * n);
  };
  if (rows * n < kMinParallelElements || rows < 2) return run(0, rows);
  parallel_ranges(rows, 1, run, 1);
}

void gelu_tanh_mul(float* g, const float* u, int64_t n) {
  const auto& ops = active_ops();
  if (n < kMinParallelGelu) return ops.gelu_tanh_mul(g, u, n);
  parallel_ranges(n, kAlign, [&](int64_t b, int64_t e) { ops.gelu_tanh_mul(g + b, u + b, e - b); }, 1);
}

void softcap(float* x, int64_t n, float cap) {
  const auto& ops = active_ops();
  if (n < kMinParallelElements) return ops.softcap(x, n, cap);
  parallel_ranges(n, kAlign, [&](int64_t b, int64_t e) { ops.softcap(x + b, e - b, cap); }, 1);
}

void attend_query(const float* q, const float* const* keys, const float* const* values, int64_t count, int64_t dim,
                  float scale, float* out, float* scores) {
  const auto& ops = active_ops();
  for (int64_t j = 0; j < count; ++j) scores[j] = scale * ops.dot(q, keys[j], dim);
  ops.softmax(scores, count);
  std::memset(out, 0, static_cast<size_t>(dim) * sizeof(float));
  for (int64_t j = 0; j < count; ++j) ops.axpy(scores[j], values[j], out, dim);
}

}  // namespace gemma4::kernels

namespace gemma4::kernels {

void attend_heads(const float* q, int64_t q_stride, int heads, const float* const* keys, const float* const* values,
                  int64_t count, int64_t dim, float scale, float* out, int64_t out_stride, float* scores) {
  const auto& ops = active_ops();
  constexpr int kMaxHeads = 8;
  if (ops.attend_heads && dim % 16 == 0) {
    for (int g0 = 0; g0 < heads; g0 += kMaxHeads)
      ops.attend_heads(q + g0 * q_stride, q_stride, heads - g0 < kMaxHeads ? heads - g0 : kMaxHeads, keys, values,
                       count, dim, scale, out + g0 * out_stride, out_stride, scores);
    return;
  }
  for (int g = 0; g < heads; ++g) attend_query(q + g * q_stride, keys, values, count, dim, scale, out + g * out_stride, scores);
}


int64_t argmax(const float* x, int64_t n) {
  const auto fn = active_ops().argmax;
  if (fn && x[0] == x[0]) return fn(x, n);  // (a NaN at x[0]: nothing beats it, the loop says 0)
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

void round_to_f16(const float* x, uint16_t* y, int64_t n) {
  if (const auto fn = active_ops().round_to_f16) return fn(x, y, n);
  for (int64_t i = 0; i < n; ++i) y[i] = f32_to_f16(x[i]);
}

void attend_heads_f16(const float* q, int64_t q_stride, int heads, const uint16_t* const* keys,
                       const uint16_t* const* values, int64_t count, int64_t dim, float scale, float* out,
                       int64_t out_stride, float* scores, float* lse) {
  const auto& ops = active_ops();
  constexpr int kMaxHeads = 8;
  if (ops.attend_heads_f16 && dim % 16 == 0) {
    for (int g0 = 0; g0 < heads; g0 += kMaxHeads)
      ops.attend_heads_f16(q + g0 * q_stride, q_stride, heads - g0 < kMaxHeads ? heads - g0 : kMaxHeads, keys,
                            values, count, dim, scale, out + g0 * out_stride, out_stride, scores,
                            lse ? lse + g0 : nullptr);
    return;
  }
  // Any ISA, any dim: widen one row at a time and use the float32 dot / axpy of the active ISA
  // (the same operations, in the same order, as attend_query on float32 rows).
  thread_local std::vector<float> row;
  row.resize(static_cast<size_t>(dim));
  auto widen = [&](const uint16_t* r) {
    for (int64_t d = 0; d < dim; ++d) row[d] = f16_to_f32(r[d]);
  };
  for (int64_t j = 0; j < count; ++j) {
    widen(keys[j]);
    for (int g = 0; g < heads; ++g) scores[g * count + j] = scale * ops.dot(q + g * q_stride, row.data(), dim);
  }
  for (int g = 0; g < heads; ++g) {
    if (lse) lse[g] = log_sum_exp(scores + g * count, count);
    ops.softmax(scores + g * count, count);
    std::memset(out + g * out_stride, 0, static_cast<size_t>(dim) * sizeof(float));
  }
  for (int64_t j = 0; j < count; ++j) {
    widen(values[j]);
    for (int g = 0; g < heads; ++g) ops.axpy(scores[g * count + j], row.data(), out + g * out_stride, dim);
  }
}

void merge_attention_parts(const float* parts_out, int64_t part_stride, const float* lses, int64_t lse_stride,
                           int parts, int64_t dim, float* out) {
  float largest = lses[0];
  for (int i = 1; i < parts; ++i) largest = std::max(largest, lses[i * lse_stride]);
  thread_local std::vector<float> weight;
  weight.resize(static_cast<size_t>(parts));
  float total = 0.f;
  for (int i = 0; i < parts; ++i) total += weight[i] = std::exp(lses[i * lse_stride] - largest);
  for (int i = 0; i < parts; ++i) weight[i] /= total;
  for (int64_t d = 0; d < dim; ++d) {
    float sum = 0.f;
    for (int i = 0; i < parts; ++i) sum += weight[i] * parts_out[i * part_stride + d];
    out[d] = sum;
  }
}

}  // namespace gemma4::kernels
