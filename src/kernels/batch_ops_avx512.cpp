#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/vec_math_avx512.h"

namespace gemma4::kernels::detail {

namespace {

// a · σ(b) = a / (1 + e^(-b))
__m512 sigmoid_mul16(__m512 a, __m512 b) {
  const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), b));
  return _mm512_div_ps(a, _mm512_add_ps(_mm512_set1_ps(1.f), e));
}

}  // namespace

void silu_avx512(float* x, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(x + i, m, sigmoid_mul16(v, v));
  }
}

void sigmoid_mul_avx512(const float* a, const float* b, int64_t n, float* out) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(out + i, m, sigmoid_mul16(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i)));
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
    _mm512_mask_storeu_ps(x + i, m, _mm512_max_ps(y, _mm512_setzero_ps()));
  }
}

}  // namespace gemma4::kernels::detail
