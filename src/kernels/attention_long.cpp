// Long-sequence attention: packing per kv head, then (head, query block) tasks on the pool.
#include "kernels/attention_long.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "base/error.h"
#include "base/thread_pool.h"
#include "kernels/gemm.h"
#include "kernels/gemm_internal.h"
#include "kernels/isa.h"
#include "tensor/dtype.h"

namespace gemma4::kernels {
namespace detail {
void softmax_row_avx512(float* s, int64_t cols, float scale);
float exp_row_bf16_avx512(const float* s, int64_t cols, float scale, uint32_t* pairs);
}  // namespace detail

namespace {

// Queries per task: a multiple of the GEMM's 12-row register tile (32 left an 8-row tile per
// block, ~6% of a vision encode), and small enough that a block's scores (36 × 2500 × 4 B ≈
// 360 KB), their bf16 copy and the head's packed K stay in L2.
constexpr int64_t kQueryBlock = 36;

float exp_row_scalar(float* s, int64_t cols, float scale) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < cols; ++j) max = std::max(max, s[j] * scale);
  double sum = 0;
  for (int64_t j = 0; j < cols; ++j) {
    s[j] = std::exp(s[j] * scale - max);
    sum += s[j];
  }
  return static_cast<float>(sum);
}

float exp_row_bf16_scalar(const float* s, int64_t cols, float scale, uint32_t* pairs) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t j = 0; j < cols; ++j) max = std::max(max, s[j] * scale);
  double sum = 0;
  uint16_t* out = reinterpret_cast<uint16_t*>(pairs);
  for (int64_t j = 0; j < cols; ++j) {
    const float e = std::exp(s[j] * scale - max);
    out[j] = f32_to_bf16(e);
    sum += e;
  }
  if (cols % 2) out[cols] = 0;
  return static_cast<float>(sum);
}

void softmax_row_scalar(float* s, int64_t cols, float scale) {
  const float inv = 1.f / exp_row_scalar(s, cols, scale);
  for (int64_t j = 0; j < cols; ++j) s[j] *= inv;
}

// Like softmax_rows, but leaves each row unnormalized (exp(scale · s − max), masked columns 0),
// written straight as the bf16 pairs P·V reads (stride k_pairs = (cols + 1) / 2; no float32
// copy to round in a second pass), and returns 1 / its sum in inv_sum[r] (0 for a row without
// valid columns): attention divides the few outputs of P·V instead of the many weights.
void exp_rows_bf16(float* s, int64_t rows, int64_t cols, int64_t stride, float scale, const uint8_t* key_valid,
                   uint32_t* pairs, float* inv_sum) {
  const bool any_valid = !key_valid || std::any_of(key_valid, key_valid + cols, [](uint8_t f) { return f != 0; });
  const auto row_fn = active_isa() == Isa::avx512 ? detail::exp_row_bf16_avx512 : exp_row_bf16_scalar;
  const int64_t k_pairs = (cols + 1) / 2;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = s + r * stride;
    uint32_t* out = pairs + r * k_pairs;
    if (!any_valid) {
      std::fill_n(out, k_pairs, 0u);
      inv_sum[r] = 0.f;
      continue;
    }
    if (key_valid)
      for (int64_t j = 0; j < cols; ++j)
        if (!key_valid[j]) row[j] = -std::numeric_limits<float>::infinity();
    inv_sum[r] = 1.f / row_fn(row, cols, scale, out);
    if (key_valid)
      for (int64_t j = 0; j < cols; ++j)
        if (!key_valid[j]) reinterpret_cast<uint16_t*>(out)[j] = 0;
  }
}

void check_shape(const LongAttentionShape& a) {
  check(a.queries >= 0 && a.keys > 0 && a.heads > 0 && a.kv_heads > 0 && a.head_dim > 0 && a.heads % a.kv_heads == 0,
        "attention: bad shape");
  check(a.q_stride >= int64_t{a.heads} * a.head_dim && a.out_stride >= int64_t{a.heads} * a.head_dim &&
            a.kv_stride >= int64_t{a.kv_heads} * a.head_dim,
        "attention: row strides smaller than the heads they hold");
}

}  // namespace

void softmax_rows(float* s, int64_t rows, int64_t cols, int64_t stride, float scale, const uint8_t* key_valid) {
  const bool any_valid = !key_valid || std::any_of(key_valid, key_valid + cols, [](uint8_t f) { return f != 0; });
  const auto row_fn = active_isa() == Isa::avx512 ? detail::softmax_row_avx512 : softmax_row_scalar;
  for (int64_t r = 0; r < rows; ++r) {
    float* row = s + r * stride;
    if (!any_valid) {
      std::fill_n(row, cols, 0.f);
      continue;
    }
    // Masked scores drop out of the max and the sum: -inf before, exactly 0 after.
    if (key_valid)
      for (int64_t j = 0; j < cols; ++j)
        if (!key_valid[j]) row[j] = -std::numeric_limits<float>::infinity();
    row_fn(row, cols, scale);
    if (key_valid)
      for (int64_t j = 0; j < cols; ++j)
        if (!key_valid[j]) row[j] = 0.f;
  }
}

void attention_bidirectional(const LongAttentionShape& a, const float* q, const float* k, const float* v,
                             const uint8_t* key_valid, float* out) {
  check_shape(a);
  if (a.queries == 0) return;
  const int hd = a.head_dim;
  // K of each kv head as a "weight" [n_kv, hd] (S = Q·Kᵀ) and Vᵀ as one [hd, n_kv] (O = P·V).
  std::vector<PackedBf16> k_packed(a.kv_heads), v_packed(a.kv_heads);
  parallel_for(a.kv_heads, [&](int64_t g) {
    pack_bf16(k + g * hd, a.keys, hd, a.kv_stride, k_packed[g]);
    std::vector<float> v_t(static_cast<size_t>(hd * a.keys));
    for (int64_t j = 0; j < a.keys; ++j)
      for (int d = 0; d < hd; ++d) v_t[d * a.keys + j] = v[j * a.kv_stride + g * hd + d];
    pack_bf16(v_t.data(), hd, a.keys, a.keys, v_packed[g]);
  });
  const int group = a.heads / a.kv_heads;
  const int64_t blocks = (a.queries + kQueryBlock - 1) / kQueryBlock;
  const detail::PanelFn panel = active_isa() == Isa::avx512 ? detail::panel_avx512 : detail::panel_scalar;
  constexpr float kInf = std::numeric_limits<float>::infinity();
  parallel_for(a.heads * blocks, [&](int64_t task) {
    const int h = static_cast<int>(task / blocks);
    const int64_t q0 = (task % blocks) * kQueryBlock, rows = std::min(kQueryBlock, a.queries - q0);
    thread_local std::vector<float> scores, inv_sum;
    thread_local std::vector<uint32_t> weights;  // exp(scores) as bf16 pairs
    const PackedBf16& vp = v_packed[h / group];
    scores.resize(static_cast<size_t>(rows * a.keys));
    inv_sum.resize(static_cast<size_t>(rows));
    weights.resize(static_cast<size_t>(rows * vp.k_pairs));
    gemm_serial(k_packed[h / group], q + q0 * a.q_stride + h * hd, a.q_stride, rows, scores.data(), a.keys);
    exp_rows_bf16(scores.data(), rows, a.keys, a.keys, a.scale, key_valid, weights.data(), inv_sum.data());
    float* o = out + q0 * a.out_stride + h * hd;
    for (int64_t p = 0; p < vp.panels; ++p)
      panel(weights.data(), vp.k_pairs, rows, vp.k_pairs, vp.pairs.data() + p * vp.k_pairs * kGemmPanel, o + p * kGemmPanel,
            a.out_stride, static_cast<int>(std::min(kGemmPanel, vp.rows - p * kGemmPanel)), -kInf, kInf,
            Activation::none);
    for (int64_t r = 0; r < rows; ++r)
      for (int d = 0; d < hd; ++d) o[r * a.out_stride + d] *= inv_sum[r];
  });
}

void attention_bidirectional_reference(const LongAttentionShape& a, const float* q, const float* k, const float* v,
                                       const uint8_t* key_valid, float* out) {
  check_shape(a);
  const int hd = a.head_dim, group = a.heads / a.kv_heads;
  std::vector<float> s(static_cast<size_t>(a.keys));
  for (int64_t t = 0; t < a.queries; ++t)
    for (int h = 0; h < a.heads; ++h) {
      const float* qt = q + t * a.q_stride + h * hd;
      const int g = h / group;
      for (int64_t j = 0; j < a.keys; ++j) {
        double dot = 0;
        for (int d = 0; d < hd; ++d) dot += static_cast<double>(qt[d]) * k[j * a.kv_stride + g * hd + d];
        s[j] = static_cast<float>(dot);
      }
      softmax_rows(s.data(), 1, a.keys, a.keys, a.scale, key_valid);
      float* o = out + t * a.out_stride + h * hd;
      for (int d = 0; d < hd; ++d) {
        double acc = 0;
        for (int64_t j = 0; j < a.keys; ++j) acc += static_cast<double>(s[j]) * v[j * a.kv_stride + g * hd + d];
        o[d] = static_cast<float>(acc);
      }
    }
}

}  // namespace gemma4::kernels
