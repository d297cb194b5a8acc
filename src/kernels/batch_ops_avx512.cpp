#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/vec_math_avx512.h"

namespace gemma4::kernels::detail {


void silu_avx512(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    store16(x + i, m, sigmoid_mul16(v, v));
  }
}

void sigmoid_mul_avx512(const float* a, const float* b, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    store16(out + i, m, sigmoid_mul16(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
  }
}

// Two passes over the row (mean, then the centred sum of squares: no cancellation), then the
// normalized, scaled and rectified values.
void layer_norm_relu_avx512(float* x, int64_t width, const float* g, float eps) {
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < width; i += 16) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(tail_mask(width - i), x + i));
  const float mean = _mm512_reduce_add_ps(sum) / static_cast<float>(width);
  const __m512 vmean = _mm512_set1_ps(mean);
  __m512 squares = _mm512_setzero_ps();
  for (int64_t i = 0; i < width; i += 16) {
    const __mmask16 m = tail_mask(width - i);
    const __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + i), vmean);
    squares = _mm512_fmadd_ps(d, d, squares);
  }
  const __m512 inv = _mm512_set1_ps(1.f / std::sqrt(_mm512_reduce_add_ps(squares) / static_cast<float>(width) + eps));
  for (int64_t i = 0; i < width; i += 16) {
    const __mmask16 m = tail_mask(width - i);
    const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmean);
    const __m512 y = _mm512_mul_ps(_mm512_mul_ps(d, inv), _mm512_maskz_loadu_ps(m, g + i));
    store16(x + i, m, _mm512_max_ps(y, _mm512_setzero_ps()));
  }
}

// std::clamp(x, lo, hi) is min(max(x, lo), hi) with x kept when it is inside: the same here
// (max then min, with x as the first operand, so a NaN input stays NaN as in the plain loop).
void clamp_copy_avx512(const float* x, float* y, int64_t n, float lo, float hi) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __m512 below = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(v, vlo, _CMP_LT_OQ), v, vlo);
    store16(y + i, m, _mm512_mask_blend_ps(_mm512_cmp_ps_mask(vhi, below, _CMP_LT_OQ), below, vhi));
  }
}

// The product is rounded before the sum, as in the plain loop: GCC's _mm512_mul_ps is a vector
// `*` that -ffp-contract may fuse with the add into an FMA; the _round_ form is a builtin it won't.
inline __m512 rounded_product(__m512 a, __m512 b) { return _mm512_mul_round_ps(a, b, _MM_FROUND_CUR_DIRECTION); }

void add_scaled_avx512(float* x, const float* h, float scale, int64_t n) {
  const __m512 s = _mm512_set1_ps(scale);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 product = rounded_product(s, _mm512_maskz_loadu_ps(m, h + i));
    store16(x + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, x + i), product));
  }
}

void multiply_add_avx512(float* out, const float* a, const float* b, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 product = rounded_product(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
    store16(out + i, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, out + i), product));
  }
}

void rope_apply_avx512(float* x, int64_t half, const float* cos, const float* sin) {
  for (int64_t i = 0; i < half; i += 16) {
    const __mmask16 m = tail_mask(half - i);
    const __m512 a = _mm512_maskz_loadu_ps(m, x + i), b = _mm512_maskz_loadu_ps(m, x + half + i);
    const __m512 c = _mm512_maskz_loadu_ps(m, cos + i), s = _mm512_maskz_loadu_ps(m, sin + i);
    store16(x + i, m, _mm512_sub_ps(rounded_product(a, c), rounded_product(b, s)));
    store16(x + half + i, m, _mm512_add_ps(rounded_product(b, c), rounded_product(a, s)));
  }
}

}  // namespace gemma4::kernels::detail
