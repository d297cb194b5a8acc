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
#include "kernels/vec_math_avx512.h"
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

namespace {

// Lanes 16k .. 16k+15 of a per-block vector repeated 8 times per block ([blocks][8] layout):
// lane j takes block 2k + j / 8.
inline __m512i repeat8_index(int k) {
  return _mm512_add_epi32(_mm512_set1_epi32(2 * k),
                          _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0));
}

// Up to 16 consecutive 32-blocks (`count` of them) of one activation row: the per-block scales
// and sums come out as lanes of one vector each, so every per-block value is computed and
// stored 16 at a time.
inline void quantize_block_group(const float* x, int count, int8_t* q, float* d8, int32_t* sum8, float* d1,
                                 int32_t* minus8_sum, int32_t* minus128_sum) {
  const __mmask16 live = static_cast<__mmask16>((1u << count) - 1);
  __m512 amax[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i)
    amax[i] = i < count ? max16(_mm512_abs_ps(_mm512_loadu_ps(x + 32 * i)), _mm512_abs_ps(_mm512_loadu_ps(x + 32 * i + 16)))
                        : _mm512_setzero_ps();
  const __m512 block_max = transpose_reduce16(amax, max16);
  // The reference's d = amax / 127 and id = 127 / amax (0 where d is 0), correctly rounded
  // divisions either way.
  const __m512 d = _mm512_div_ps(block_max, _mm512_set1_ps(127.f));
  const __mmask16 nonzero = _mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_OQ);
  alignas(64) float id[16];
  _mm512_store_ps(id, _mm512_maskz_div_ps(nonzero, _mm512_set1_ps(127.f), block_max));
  const __m512 lo = _mm512_set1_ps(-127.f), hi = _mm512_set1_ps(127.f);
  // x·id clamped to ±127, then rounded to nearest even: the reference's round-then-clamp
  // gives the same integers (rounding is monotonic and ±127 are integers).
  auto quantize = [&](const float* p, __m512 vid) {
    const __m512 v = min16(hi, max16(lo, _mm512_mul_ps(_mm512_loadu_ps(p), vid)));
    return _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  };
  __m512 sums[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) {
    if (i < count) {
      const __m512 vid = _mm512_set1_ps(id[i]);
      const __m512i q0 = quantize(x + 32 * i, vid), q1 = quantize(x + 32 * i + 16, vid);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * i), _mm512_cvtepi32_epi8(q0));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + 32 * i + 16), _mm512_cvtepi32_epi8(q1));
      sums[i] = _mm512_castsi512_ps(_mm512_add_epi32(q0, q1));
    } else {
      sums[i] = _mm512_setzero_ps();
    }
  }
  const __m512i sum = _mm512_castps_si512(transpose_reduce16(sums, add_epi32_as_ps));
  _mm512_mask_storeu_ps(d1, live, d);
  _mm512_mask_storeu_epi32(minus8_sum, live, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 3)));
  _mm512_mask_storeu_epi32(minus128_sum, live, _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(sum, 7)));
  if (!d8) return;
  for (int k = 0; 2 * k < count; ++k) {  // blocks 2k and 2k + 1
    const __mmask16 m = 2 * k + 1 < count ? __mmask16(0xffff) : __mmask16(0x00ff);
    const __m512i index = repeat8_index(k);
    _mm512_mask_storeu_ps(d8 + 16 * k, m, _mm512_permutexvar_ps(index, d));
    _mm512_mask_storeu_epi32(sum8 + 16 * k, m, _mm512_permutexvar_epi32(index, sum));
  }
}

}  // namespace

void quantize_activation_row_avx512(const float* x, int64_t cols, int8_t* q, float* d8, int32_t* sum8, float* d1,
                                    int32_t* minus8_sum, int32_t* minus128_sum) {
  const int64_t blocks = cols / 32;
  for (int64_t b = 0; b < blocks; b += 16) {
    const int count = static_cast<int>(std::min<int64_t>(16, blocks - b));
    quantize_block_group(x + 32 * b, count, q + 32 * b, d8 ? d8 + 8 * b : nullptr, sum8 ? sum8 + 8 * b : nullptr,
                         d1 + b, minus8_sum + b, minus128_sum + b);
  }
}

}  // namespace gemma4::kernels::detail
