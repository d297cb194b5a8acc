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

}  // namespace gemma4::kernels::detail
