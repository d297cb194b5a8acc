// Vectorized exp for AVX-512 translation units (include only from *_avx512.cpp files).
#pragma once
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see matmul_avx512.cpp
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

namespace gemma4::kernels::detail {

// e^x for 16 floats, relative error < 2e-7 over [-87, 88] (inputs are clamped to that range;
// below it the result is ~0, as softmax and sigmoid want). exp(x) = 2^n · 2^r with
// n = round(x·log2 e), |r| ≤ 1/2, 2^r by its degree-6 Taylor polynomial.
inline __m512 exp512(__m512 x) {
  const __m512 hi = _mm512_set1_ps(88.f), lo = _mm512_set1_ps(-87.f);
  x = _mm512_mask_min_ps(x, 0xffff, x, hi);  // the unmasked forms trip GCC 12's -Wmaybe-uninitialized
  x = _mm512_mask_max_ps(x, 0xffff, x, lo);
  const __m512 t = _mm512_mul_ps(x, _mm512_set1_ps(1.4426950408889634f));
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_mul_ps(_mm512_sub_ps(t, n), _mm512_set1_ps(0.6931471805599453f));  // r·ln 2
  __m512 p = _mm512_set1_ps(1.f / 720.f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

// c · 2^t for 16 floats t ≤ 0 (softmax weights in base 2), relative error < 4e-6: far below
// what the bf16 or 8-bit weights of attention resolve (2e-3), at 10 instructions instead of
// exp512's 13. t = n + f with n = round(t), |f| ≤ 1/2, 2^f by its degree-5 Taylor polynomial
// in f·ln 2 (coefficients times c). t < -127 (-inf included) gives ~0.
inline __m512 scaled_exp2_nonpositive512(__m512 t, float c) {
  t = _mm512_mask_max_ps(t, 0xffff, t, _mm512_set1_ps(-127.f));
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(c * 0.0013333558f);                 // ln2^5 / 120
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c * 0.0096181291f));  // ln2^4 / 24
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c * 0.0555041087f));  // ln2^3 / 6
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c * 0.2402265070f));  // ln2^2 / 2
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c * 0.6931471806f));  // ln2
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(c));
  return _mm512_scalef_ps(p, n);
}

}  // namespace gemma4::kernels::detail
