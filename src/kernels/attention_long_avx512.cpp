// AVX-512 softmax rows for long attention (attention_long.h).
#include <immintrin.h>

#include <cstdint>

#include "kernels/vec_math_avx512.h"

namespace gemma4::kernels::detail {
namespace {

// max_j s[j] · scale (-inf for an all -inf row).
float scaled_row_max(const float* s, int64_t cols, float scale) {
  const __m512 vscale = _mm512_set1_ps(scale);
  __m512 vmax = _mm512_set1_ps(-__builtin_inff());
  int64_t j = 0;
  for (; j + 16 <= cols; j += 16) vmax = max16(vmax, _mm512_mul_ps(_mm512_loadu_ps(s + j), vscale));
  float max = horizontal_max(vmax);
  for (; j < cols; ++j) max = s[j] * scale > max ? s[j] * scale : max;
  return max;
}

}  // namespace

// s = exp(scale · s − max) in place; returns Σ s. -inf entries come out as (almost) 0 and are
// zeroed by the caller.
float exp_row_avx512(float* s, int64_t cols, float scale) {
  const __m512 vscale = _mm512_set1_ps(scale);
  const __m512 vneg_max = _mm512_set1_ps(-scaled_row_max(s, cols, scale));
  __m512 vsum = _mm512_setzero_ps();
  const auto exp_at = [&](int64_t i, __mmask16 m) {
    const __m512 e = exp512(_mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, s + i), vscale, vneg_max));
    store16(s + i, m, e);
    vsum = _mm512_add_ps(vsum, _mm512_maskz_mov_ps(m, e));
  };
  int64_t j = 0;
  for (; j + 16 <= cols; j += 16) exp_at(j, 0xffff);
  if (j < cols) exp_at(j, static_cast<__mmask16>((1u << (cols - j)) - 1));
  return horizontal_sum(vsum);
}

// pairs[0 .. (cols + 1) / 2) = bf16 of exp(scale · s − max) (an odd last column paired with 0);
// returns Σ exp(scale · s − max) of the float32 values. -inf entries come out as (almost) 0.
float exp_row_bf16_avx512(const float* s, int64_t cols, float scale, uint32_t* pairs) {
  // exp(scale · s − max) = 2^(c · s − max_j c · s) with c = scale · log2 e: one FMA.
  const float c = scale * 1.4426950408889634f;
  const __m512 vscale = _mm512_set1_ps(c);
  const __m512 vneg_max = _mm512_set1_ps(-scaled_row_max(s, cols, c));
  __m512 vsum = _mm512_setzero_ps();
  uint16_t* out = reinterpret_cast<uint16_t*>(pairs);
  const auto exp16 = [&](__m512 x) { return scaled_exp2_nonpositive512(_mm512_fmadd_ps(x, vscale, vneg_max), 1.f); };
  // Full vectors with plain loads and stores (masked stores every iteration cost ~25%), then
  // the tail masked. cvtne2ps_pbh(hi, lo): the low 16 bf16 come from the second argument.
  int64_t j = 0;
  for (; j + 32 <= cols; j += 32) {
    const __m512 e0 = exp16(_mm512_loadu_ps(s + j)), e1 = exp16(_mm512_loadu_ps(s + j + 16));
    vsum = _mm512_add_ps(vsum, _mm512_add_ps(e0, e1));
    _mm512_storeu_si512(out + j, (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
  }
  if (j < cols) {
    const int64_t rest = cols - j;  // < 32
    const __mmask16 m0 = rest >= 16 ? __mmask16(0xffff) : __mmask16((1u << rest) - 1);
    const __mmask16 m1 = rest > 16 ? __mmask16((1u << (rest - 16)) - 1) : __mmask16(0);
    const __m512 e0 = _mm512_maskz_mov_ps(m0, exp16(_mm512_maskz_loadu_ps(m0, s + j)));
    const __m512 e1 = _mm512_maskz_mov_ps(m1, exp16(_mm512_maskz_loadu_ps(m1, s + j + 16)));
    vsum = _mm512_add_ps(vsum, _mm512_add_ps(e0, e1));
    const int64_t stored = (rest + 1) / 2 * 2;  // through the padded pair (masked-off lanes are 0)
    _mm512_mask_storeu_epi16(out + j, static_cast<__mmask32>((uint64_t{1} << stored) - 1),
                             (__m512i)_mm512_cvtne2ps_pbh(e1, e0));
  }
  return horizontal_sum(vsum);
}

// s = softmax(scale · s); -inf entries come out as (almost) 0 and are zeroed by the caller.
void softmax_row_avx512(float* s, int64_t cols, float scale) {
  const __m512 vinv = _mm512_set1_ps(1.f / exp_row_avx512(s, cols, scale));
  int64_t j = 0;
  for (; j + 16 <= cols; j += 16) _mm512_storeu_ps(s + j, _mm512_mul_ps(_mm512_loadu_ps(s + j), vinv));
  for (; j < cols; ++j) s[j] *= _mm512_cvtss_f32(vinv);
}

}  // namespace gemma4::kernels::detail
