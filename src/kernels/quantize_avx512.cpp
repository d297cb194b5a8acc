// AVX-512 quantizers from bf16 rows (the checkpoint's format) straight to Q8_0 / Q4_0,
// bit-identical to the reference quantizers in tensor/quant.cpp: the same float operations
// in the same order, the same rounding (lround for Q8_0, truncation of x·id + 8.5 for Q4_0),
// and the same choice of the signed maximum for Q4_0 (its first occurrence).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see matmul_avx512.cpp
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

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

// The signed value of largest magnitude in a block (its first occurrence), as Q4_0 picks it.
inline float signed_block_max(const uint16_t* x, __m512 x0, __m512 x1) {
  const __m512 a0 = _mm512_abs_ps(x0), a1 = _mm512_abs_ps(x1);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(a0, a1));
  const uint32_t hits = _mm512_cmp_ps_mask(a0, _mm512_set1_ps(amax), _CMP_EQ_OQ) |
                        (uint32_t{_mm512_cmp_ps_mask(a1, _mm512_set1_ps(amax), _CMP_EQ_OQ)} << 16);
  return amax > 0.f ? bf16_to_f32(x[__builtin_ctz(hits)]) : 0.f;
}

// Q4_0's nibble rule min(15, trunc(x·id + 8.5)), multiply then add, for 32 values: 16 bytes.
inline __m128i q4_nibbles(__m512 x0, __m512 x1, float id) {
  const __m512 vid = _mm512_set1_ps(id), half8 = _mm512_set1_ps(8.5f);
  const __m512i fifteen = _mm512_set1_epi32(15);
  const __m512i q0 = _mm512_min_epi32(fifteen, _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(x0, vid), half8)));
  const __m512i q1 = _mm512_min_epi32(fifteen, _mm512_cvttps_epi32(_mm512_add_ps(_mm512_mul_ps(x1, vid), half8)));
  return _mm512_cvtepi32_epi8(_mm512_or_si512(q0, _mm512_slli_epi32(q1, 4)));
}

}  // namespace

void quantize_bf16_group_q4s_avx512(const uint16_t* rows, int64_t cols, uint8_t* out) {
  const int64_t blocks = cols / kQK;
  auto* row_scales = reinterpret_cast<float*>(out);
  thread_local std::vector<float> d;
  d.resize(static_cast<size_t>(blocks));
  for (int lane = 0; lane < kQ4iRows; ++lane) {
    const uint16_t* x = rows + lane * cols;
    float dmax = 0.f;
    for (int64_t b = 0; b < blocks; ++b) {
      const __m512 x0 = load_bf16(x + b * kQK), x1 = load_bf16(x + b * kQK + 16);
      d[b] = signed_block_max(x + b * kQK, x0, x1) / -8.f;
      dmax = std::max(dmax, std::fabs(d[b]));
    }
    const float S = dmax / 127.f;
    row_scales[lane] = S;
    for (int64_t b = 0; b < blocks; ++b) {
      uint8_t* block = out + kQ4sHeaderBytes + b * kQ4sBlockBytes;
      const int8_t code = q4s_scale_code(d[b], S);
      reinterpret_cast<int8_t*>(block)[lane] = code;
      const float scale = S * code;
      const float id = scale != 0.f ? 1.f / scale : 0.f;
      alignas(16) uint8_t qs[16];
      _mm_store_si128(reinterpret_cast<__m128i*>(qs),
                      q4_nibbles(load_bf16(x + b * kQK), load_bf16(x + b * kQK + 16), id));
      uint8_t* nibbles = block + kQ4iRows;
      for (int j = 0; j < 4; ++j) __builtin_memcpy(nibbles + 64 * j + 4 * lane, qs + 4 * j, 4);
    }
  }
}

bool quantize_bf16_row_avx512(const uint16_t* x, int64_t cols, WeightFormat target, void* out) {
  switch (target) {
    case WeightFormat::q8_0: row_q8_0(x, cols, static_cast<BlockQ8_0*>(out)); return true;
    case WeightFormat::q4_0: row_q4_0(x, cols, static_cast<BlockQ4_0*>(out)); return true;
    default: return false;
  }
}

void quantize_activation_row_avx512(const float* x, int64_t cols, int8_t* q, float* d8, int32_t* sum8) {
  const __m512 lo = _mm512_set1_ps(-127.f), hi = _mm512_set1_ps(127.f);
  for (int64_t b = 0; b < cols / 32; ++b) {
    const __m512 v0 = _mm512_loadu_ps(x + b * 32), v1 = _mm512_loadu_ps(x + b * 32 + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.f;
    const float id = d != 0.f ? 127.f / amax : 0.f;
    const __m512 vid = _mm512_set1_ps(id);
    // x·id rounded to nearest even (the reference's 1.5·2^23 trick), clamped to ±127.
    auto quantize = [&](__m512 v) {
      const __m512 r = _mm512_roundscale_ps(_mm512_mul_ps(v, vid), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      return _mm512_cvtps_epi32(_mm512_min_ps(hi, _mm512_max_ps(lo, r)));
    };
    const __m512i q0 = quantize(v0), q1 = quantize(v1);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + b * 32 + 16), _mm512_cvtepi32_epi8(q1));
    const int32_t sum = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    for (int k = 0; k < 8; ++k) {
      d8[b * 8 + k] = d;
      sum8[b * 8 + k] = sum;
    }
  }
}

}  // namespace gemma4::kernels::detail
