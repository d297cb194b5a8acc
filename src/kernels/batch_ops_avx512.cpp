#include <immintrin.h>

#include <cstdint>

#include "kernels/vec_math_avx512.h"

namespace gemma4::kernels::detail {

// x·σ(2u) = x / (1 + e^(-2u)), u = √(2/π)(x + 0.044715x³).
void gelu_tanh_mul_avx512(float* gate, const float* up, int64_t n) {
  const __m512 minus_two_k = _mm512_set1_ps(-2.f * 0.7978845608028654f), c = _mm512_set1_ps(0.044715f);
  const __m512 one = _mm512_set1_ps(1.f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 x = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
    const __m512 e = exp512(_mm512_mul_ps(minus_two_k, _mm512_fmadd_ps(c, x3, x)));
    const __m512 g = _mm512_div_ps(x, _mm512_add_ps(one, e));
    _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(g, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

namespace {

__mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << left) - 1);
}

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

}  // namespace gemma4::kernels::detail
