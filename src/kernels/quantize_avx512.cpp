// AVX-512 quantizers from bf16 rows (the checkpoint's format) straight to Q8_0 / Q4_0,
// bit-identical to the reference quantizers in tensor/quant.cpp: the same float operations
// in the same order, the same rounding (lround for Q8_0, truncation of x·id + 8.5 for Q4_0),
// and the same choice of the signed maximum for Q4_0 (its first occurrence).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see matmul_avx512.cpp
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include "kernels/quantize_internal.h"
#include "tensor/dtype.h"

namespace gemma4::kernels::detail {
namespace {

inline __m512 load_bf16(const uint16_t* p) {
  const __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

// lround(v) for |v| < 2^23: trunc(v), plus v's sign when the (exact) fraction is >= 1/2.
inline __m512i round_half_away(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 frac = _mm512_sub_ps(v, t);
  const __mmask16 bump = _mm512_cmp_ps_mask(_mm512_abs_ps(frac), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.f), _mm512_and_ps(v, _mm512_set1_ps(-0.f)));
  return _mm512_cvttps_epi32(_mm512_mask_add_ps(t, bump, t, one));
}

void row_q8_0(const uint16_t* x, int64_t cols, BlockQ8_0* out) {
  for (int64_t b = 0; b < cols / kQK; ++b) {
    const __m512 x0 = load_bf16(x + b * kQK), x1 = load_bf16(x + b * kQK + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
    const float d = amax / 127.f;
    const float id = d ? 1.f / d : 0.f;
    out[b].d = f32_to_f16(d);
    const __m512 vid = _mm512_set1_ps(id);
    const __m512i q0 = round_half_away(_mm512_mul_ps(x0, vid)), q1 = round_half_away(_mm512_mul_ps(x1, vid));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs + 16), _mm512_cvtepi32_epi8(q1));
  }
}

void row_q4_0(const uint16_t* x, int64_t cols, BlockQ4_0* out) {
  for (int64_t b = 0; b < cols / kQK; ++b) {
    const __m512 x0 = load_bf16(x + b * kQK), x1 = load_bf16(x + b * kQK + 16);
    const __m512 a0 = _mm512_abs_ps(x0), a1 = _mm512_abs_ps(x1);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
    // The reference keeps the first element of largest magnitude (its sign matters).
    const uint32_t hits = _mm512_cmp_ps_mask(a0, _mm512_set1_ps(amax), _CMP_EQ_OQ) |
                          (uint32_t{_mm512_cmp_ps_mask(a1, _mm512_set1_ps(amax), _CMP_EQ_OQ)} << 16);
    const float max = amax > 0.f ? bf16_to_f32(x[b * kQK + __builtin_ctz(hits)]) : 0.f;
    const float d = max / -8.f;
    const float id = d ? 1.f / d : 0.f;
    out[b].d = f32_to_f16(d);
    // Multiply, then add (as the reference does: no fused rounding).
    const __m512 vid = _mm512_set1_ps(id), half8 = _mm512_set1_ps(8.5f);
    const __m512i fifteen = _mm512_set1_epi32(15);
    const __m512i q0 = _mm512_min_epi32(fifteen, _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(x0, vid), half8)));
    const __m512i q1 = _mm512_min_epi32(fifteen, _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(x1, vid), half8)));
    const __m512i packed = _mm512_or_si512(q0, _mm512_slli_epi32(q1, 4));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].qs), _mm512_cvtepi32_epi8(packed));
  }
}

}  // namespace

bool quantize_bf16_row_avx512(const uint16_t* x, int64_t cols, WeightFormat target, void* out) {
  switch (target) {
    case WeightFormat::q8_0: row_q8_0(x, cols, static_cast<BlockQ8_0*>(out)); return true;
    case WeightFormat::q4_0: row_q4_0(x, cols, static_cast<BlockQ4_0*>(out)); return true;
    default: return false;
  }
}

}  // namespace gemma4::kernels::detail
