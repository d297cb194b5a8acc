// Small AVX-512 helpers (masks, full-mask min/max and conversions, reductions) and vectorized
// exps, shared by the AVX-512 translation units (include only from *_avx512.cpp files).
#pragma once
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see matmul_avx512.cpp
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace gemma4::kernels::detail {

// Lanes [0, count) of a 16-float vector (all of them from 16 on).
inline __mmask16 tail_mask(int64_t count) {
  return count >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << count) - 1);
}

// Masked stores are slow on this Zen 4 (a GEMM storing its 12 × 32 tiles with masks ran ~10%
// below one storing them plainly): full vectors take the plain store.
inline void store16(float* p, __mmask16 m, __m512 v) {
  if (m == 0xffff)
    _mm512_storeu_ps(p, v);
  else
    _mm512_mask_storeu_ps(p, m, v);
}

inline void store16(uint8_t* p, __mmask16 m, __m128i bytes) {
  if (m == 0xffff)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p), bytes);
  else
    _mm_mask_storeu_epi8(p, m, bytes);
}

// Full-mask forms: GCC 12's unmasked min/max/conversions start from an undefined vector and
// trip -Wuninitialized.
inline __m512 max16(__m512 a, __m512 b) { return _mm512_mask_max_ps(a, 0xffff, a, b); }
inline __m512 min16(__m512 a, __m512 b) { return _mm512_mask_min_ps(a, 0xffff, a, b); }
inline __m512 to_float(__m512i v) { return _mm512_maskz_cvtepi32_ps(0xffff, v); }
inline __m512i to_int_nearest(__m512 v) { return _mm512_maskz_cvtps_epi32(0xffff, v); }  // round half to even

// Horizontal sums through memory, lanes added in order (GCC 12's _mm512_reduce_add_* trip
// -Wmaybe-uninitialized): the 16 float or int32 lanes of v.
template <class Lane, class Vector>
inline Lane sum_lanes_in_order(Vector v) {
  alignas(64) Lane lanes[16];
  static_assert(sizeof(lanes) == sizeof(v));
  std::memcpy(lanes, &v, sizeof(lanes));
  Lane s = 0;
  for (int i = 0; i < 16; ++i) s += lanes[i];
  return s;
}
inline float horizontal_sum(__m512 v) { return sum_lanes_in_order<float>(v); }
inline int32_t horizontal_sum(__m512i v) { return sum_lanes_in_order<int32_t>(v); }

// Horizontal max by halving (masked extract: GCC 12's unmasked form trips -Wuninitialized).
inline float horizontal_max(__m512 v) {
  const __m256 m8 = _mm256_max_ps(_mm512_castps512_ps256(v), _mm512_maskz_extractf32x8_ps(0xff, v, 1));
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m8), _mm256_extractf128_ps(m8, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
  return _mm_cvtss_f32(m4);
}

// Lane r of the result = op over the 16 lanes of v[r] (16 reductions at once): four levels of
// pairwise unpacks and shuffles, each halving the vectors, 45 operations instead of 16 × 8.
// For float sums the order is fixed: the same lanes are added in the same order every call.
template <class Op>
inline __m512 transpose_reduce16(const __m512 (&v)[16], Op op) {
  __m512 a[8], b[4], c[2];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i)  // per 128-bit block: rows 2i, 2i+1 over elements {0,2}, {1,3}
    a[i] = op(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {  // per 128-bit block: rows 4i..4i+3 over the block
    const __m512d x = _mm512_castps_pd(a[2 * i]), y = _mm512_castps_pd(a[2 * i + 1]);
    b[i] = op(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
  }
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i)  // blocks: rows 8i..8i+3 over blocks {0,1}, {2,3}; 8i+4.. likewise
    c[i] = op(_mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
              _mm512_shuffle_f32x4(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  return op(_mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
            _mm512_shuffle_f32x4(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

inline __m512 add16(__m512 a, __m512 b) { return _mm512_add_ps(a, b); }
// The sum of v's lanes added in transpose_reduce16's order (so a result does not depend on how
// many rows or heads one call takes: decode and prefill split heads differently, and must agree
// bit for bit).
inline float sum16(__m512 v) {
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(1, 0, 3, 2)));      // l + (l ^ 2)
  v = _mm512_add_ps(v, _mm512_permute_ps(v, _MM_SHUFFLE(2, 3, 0, 1)));      // then l ^ 1
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(2, 3, 0, 1)));  // 128-bit chunks 0+1, 2+3
  v = _mm512_add_ps(v, _mm512_shuffle_f32x4(v, v, _MM_SHUFFLE(1, 0, 3, 2)));  // (0+1) + (2+3)
  return _mm512_cvtss_f32(v);
}

// Integer lanes added through float vectors (transpose_reduce16 on int32 data: exact).
inline __m512 add_epi32_as_ps(__m512 a, __m512 b) {
  return _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)));
}

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

// a · σ(b) = a / (1 + e^(-b)) for 16 floats; SiLU is sigmoid_mul16(x, x).
inline __m512 sigmoid_mul16(__m512 a, __m512 b) {
  const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), b));
  return _mm512_div_ps(a, _mm512_add_ps(_mm512_set1_ps(1.f), e));
}

// e^x to about 2 ulp for |x| < 88 (Cephes' polynomial on x - n·ln2, then 2^n by scalef);
// larger |x| saturate to 0 / inf like expf.
inline __m512 exp_ps(__m512 x) {
  x = _mm512_max_ps(_mm512_min_ps(x, _mm512_set1_ps(88.7f)), _mm512_set1_ps(-88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500E-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3333452301E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  return _mm512_scalef_ps(p, n);
}

// tanh(x) = 1 - 2 / (e^{2x} + 1): exact limits ±1, absolute error ~1e-7 near 0.
inline __m512 tanh_ps(__m512 x) {
  const __m512 e = exp_ps(_mm512_add_ps(x, x));
  const __m512 one = _mm512_set1_ps(1.f);
  return _mm512_sub_ps(one, _mm512_div_ps(_mm512_set1_ps(2.f), _mm512_add_ps(e, one)));
}

// gelu_tanh(g) · u for 16 floats (GeGLU's gated activation; PyTorch's gelu(approximate="tanh")).
inline __m512 gelu_tanh_mul16(__m512 g, __m512 u) {
  const __m512 inner = _mm512_mul_ps(_mm512_set1_ps(0.7978845608028654f),
                                     _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(0.044715f), g), _mm512_mul_ps(g, g), g));
  const __m512 gelu =
      _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), g), _mm512_add_ps(_mm512_set1_ps(1.f), tanh_ps(inner)));
  return _mm512_mul_ps(gelu, u);
}

}  // namespace gemma4::kernels::detail
