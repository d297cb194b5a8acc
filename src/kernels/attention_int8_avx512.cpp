// AVX512-VNNI micro-kernels of the int8 long attention (attention_int8_internal.h). Tiles of
// up to 12 rows × 32 columns live in 24 int32 accumulators; each 4-byte K step loads one packed
// quad row (two 512-bit loads) and broadcasts 4 bytes per row: 24 vpdpbusd per 14 loads, as
// in the int8 GEMM.
#include <immintrin.h>

#include <algorithm>

#include "kernels/attention_int8_internal.h"
#include "kernels/int8_dot_avx512.h"
#include "kernels/vec_math_avx512.h"

namespace gemma4::kernels::detail {
namespace {

constexpr int kTileRows = 12;

// Quantized bytes of 16 floats times inv (lanes outside m: 0).
__m128i quantize16(__m512 x, __m512 inv) {
  __m512i q = to_int_nearest(_mm512_mul_ps(x, inv));
  q = _mm512_maskz_min_epi32(0xffff, _mm512_maskz_max_epi32(0xffff, q, _mm512_set1_epi32(-127)), _mm512_set1_epi32(127));
  return _mm512_maskz_cvtepi32_epi8(0xffff, q);
}

template <int R>
void scores_tile(const uint8_t* qa, int64_t qa_stride, int64_t hd_quads, const int8_t* kq, const float* k_scale,
                 const int32_t* k_corr, float* s, int64_t s_stride) {
  __v16si acc0[R], acc1[R];
  // The sums start at −correction (the unsigned query offset): no subtraction afterwards.
  const __m512i c0 = _mm512_loadu_si512(k_corr), c1 = _mm512_loadu_si512(k_corr + 16);
  dot_tile<R>(qa, qa_stride, hd_quads, kq, acc0, acc1, (__v16si)_mm512_sub_epi32(_mm512_setzero_si512(), c0),
              (__v16si)_mm512_sub_epi32(_mm512_setzero_si512(), c1));
  const __m512 s0 = _mm512_loadu_ps(k_scale), s1 = _mm512_loadu_ps(k_scale + 16);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    _mm512_storeu_ps(s + r * s_stride, _mm512_mul_ps(to_float((__m512i)acc0[r]), s0));
    _mm512_storeu_ps(s + r * s_stride + 16, _mm512_mul_ps(to_float((__m512i)acc1[r]), s1));
  }
}

// Every key (groups null), or only the key groups some row of the tile marked: each is 4 quads
// (the last one may be shorter).
template <int R>
void values_tile(const uint8_t* p, int64_t key_quads, const uint64_t* groups, const int8_t* vq, const float* v_scale,
                 const float* row_factor, float* o, int64_t o_stride, int cols_valid) {
  constexpr int64_t kGroupQuads = kKeyGroup / 4;
  __v16si acc0[R], acc1[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = __v16si{};
  if (!groups) {
    dot_tile_accumulate<R>(p, 4 * key_quads, key_quads, vq, acc0, acc1);
  } else {
    for (int64_t w = 0; w < key_group_words(4 * key_quads); ++w)
      for (uint64_t bits = groups[w]; bits != 0; bits &= bits - 1) {
        const int64_t q0 = (w * 64 + __builtin_ctzll(bits)) * kGroupQuads;
        const uint8_t* pa = p + 4 * q0;
        const int8_t* vb = vq + q0 * kAttnPanel * 4;
        if (q0 + kGroupQuads <= key_quads)
          dot_tile_accumulate<R>(pa, 4 * key_quads, kGroupQuads, vb, acc0, acc1);
        else
          dot_tile_accumulate<R>(pa, 4 * key_quads, key_quads - q0, vb, acc0, acc1);
      }
  }
  const __mmask16 m0 = tail_mask(cols_valid), m1 = tail_mask(std::max(0, cols_valid - 16));
  const __m512 s0 = _mm512_loadu_ps(v_scale), s1 = _mm512_loadu_ps(v_scale + 16);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const __m512 f = _mm512_set1_ps(row_factor[r]);
    store16(o + r * o_stride, m0, _mm512_mul_ps(_mm512_mul_ps(to_float((__m512i)acc0[r]), s0), f));
    store16(o + r * o_stride + 16, m1, _mm512_mul_ps(_mm512_mul_ps(to_float((__m512i)acc1[r]), s1), f));
  }
}

using ScoresFn = void (*)(const uint8_t*, int64_t, int64_t, const int8_t*, const float*, const int32_t*, float*,
                          int64_t);
constexpr ScoresFn kScores[kTileRows + 1] = {nullptr,         scores_tile<1>, scores_tile<2>,  scores_tile<3>,
                                             scores_tile<4>,  scores_tile<5>, scores_tile<6>,  scores_tile<7>,
                                             scores_tile<8>,  scores_tile<9>, scores_tile<10>, scores_tile<11>,
                                             scores_tile<12>};
using ValuesFn = void (*)(const uint8_t*, int64_t, const uint64_t*, const int8_t*, const float*, const float*, float*,
                          int64_t, int);
constexpr ValuesFn kValues[kDenseTileRows + 1] = {nullptr,         values_tile<1>, values_tile<2>,  values_tile<3>,
                                                  values_tile<4>,  values_tile<5>, values_tile<6>,  values_tile<7>,
                                                  values_tile<8>,  values_tile<9>, values_tile<10>, values_tile<11>,
                                                  values_tile<12>};

// 255 · 2^t for 16 floats t ≤ 0 as ExpBytesFn defines it (kByteExp2's polynomial): two FMAs
// fewer than scaled_exp2_nonpositive512, whose 4e-6 the bytes cannot resolve.
__m512 byte_exp2_nonpositive(__m512 t) {
  t = _mm512_mask_max_ps(t, 0xffff, t, _mm512_set1_ps(-127.f));
  const __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(kByteExp2[3]);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kByteExp2[2]));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kByteExp2[1]));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(kByteExp2[0]));
  return _mm512_scalef_ps(p, n);
}

// The bytes and marks of one softmax row (ExpBytesFn), t = s · scale + neg_max, 64 keys at a
// time; returns the int32 lane sums of the bytes. 255 · 2^t < 0.4981 below t = -9 (the
// polynomial's 8e-5 included), so with Skip 64 keys whose t are all below are stored as zeros
// without evaluating exp(): one branch per 64 keys (per 16 it mispredicted too often).
template <bool Skip>
__m512i exp_groups(const float* s, __m512 scale, __m512 neg_max, int64_t keys, uint8_t* p, uint64_t* nonzero) {
  const __m512 zero_below = _mm512_set1_ps(-9.f);
  __m512i sum = _mm512_setzero_si512();
  // The marks of 64 groups gather in a register (an |= into memory per group chained each group
  // to the previous one's store), written when the word is full and at the end.
  uint64_t marks = 0;
  const auto mark = [&](int64_t key, uint64_t bits, int count) {  // count groups from key on
    const int64_t group = key / kKeyGroup;
    marks |= bits << (group % 64);
    if ((group + count) % 64 == 0) {
      nonzero[group / 64] = marks;
      marks = 0;
    }
  };
  // 64 bytes at a time by two packing steps (values ≤ 255: no saturation) and one lane
  // permutation, instead of a two-uop vpmovdb per 16.
  const __m512i lane_order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  int64_t j = 0;
  for (; j + 4 * kKeyGroup <= keys; j += 4 * kKeyGroup) {
    __m512 t[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) t[i] = _mm512_fmadd_ps(_mm512_loadu_ps(s + j + 16 * i), scale, neg_max);
    if constexpr (Skip) {
      const __mmask16 above = _mm512_cmp_ps_mask(t[0], zero_below, _CMP_GE_OQ) |
                              _mm512_cmp_ps_mask(t[1], zero_below, _CMP_GE_OQ) |
                              _mm512_cmp_ps_mask(t[2], zero_below, _CMP_GE_OQ) |
                              _mm512_cmp_ps_mask(t[3], zero_below, _CMP_GE_OQ);
      if (above == 0) {
        _mm512_storeu_si512(p + j, _mm512_setzero_si512());
        mark(j, 0, 4);
        continue;
      }
    }
    __m512i q[4];
#pragma GCC unroll 4
    for (int i = 0; i < 4; ++i) {
      q[i] = to_int_nearest(byte_exp2_nonpositive(t[i]));
      sum = _mm512_add_epi32(sum, q[i]);
    }
    // Per 128-bit lane i: q0[4i..4i+3] q1[..] q2[..] q3[..] as bytes; the permutation puts q0's first.
    const __m512i packed = _mm512_permutexvar_epi32(
        lane_order, _mm512_packus_epi16(_mm512_packus_epi32(q[0], q[1]), _mm512_packus_epi32(q[2], q[3])));
    _mm512_storeu_si512(p + j, packed);
    // One bit per 16 bytes: fold each 16-bit run of the nonzero-byte mask into its lowest bit.
    uint64_t nz = _mm512_test_epi8_mask(packed, packed);
    nz |= nz >> 8;
    nz |= nz >> 4;
    nz |= nz >> 2;
    nz |= nz >> 1;
    mark(j, (nz & 1) | (nz >> 15 & 2) | (nz >> 30 & 4) | (nz >> 45 & 8), 4);
  }
  for (; j < keys; j += kKeyGroup) {
    const __mmask16 m = tail_mask(keys - j);
    const __m512 t = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, s + j), scale, neg_max);
    const __m512i q = _mm512_maskz_cvtps_epi32(m, byte_exp2_nonpositive(t));
    sum = _mm512_add_epi32(sum, q);
    _mm_mask_storeu_epi8(p + j, m, _mm512_maskz_cvtepi32_epi8(0xffff, q));
    mark(j, _mm512_test_epi32_mask(q, q) != 0, 1);
  }
  const int64_t groups = (keys + kKeyGroup - 1) / kKeyGroup;
  if (groups % 64 != 0) nonzero[groups / 64] = marks;  // the last, partial word
  return sum;
}

}  // namespace

// The loops below run full vectors with plain loads and stores and leave the masked forms to
// the tail: masked stores every iteration made the softmax pass ~25% slower (measured).

// 16 rows at a time: their maxima side by side in one vector (so one division gives the 16
// scales), then each row quantized, its sum of bytes reduced likewise.
void quantize_rows_avx512(const float* x, int64_t rows, int64_t x_stride, int64_t n, uint8_t flip, uint8_t* out,
                          int64_t out_stride, float* absmax, int32_t* sums) {
  const __m128i vflip = _mm_set1_epi8(static_cast<char>(flip));
  for (int64_t r0 = 0; r0 < rows; r0 += 16) {
    const int count = static_cast<int>(std::min<int64_t>(16, rows - r0));
    __m512 row_max[16];
#pragma GCC unroll 16
    for (int r = 0; r < 16; ++r) row_max[r] = _mm512_setzero_ps();
    for (int r = 0; r < count; ++r) {
      const float* row = x + (r0 + r) * x_stride;
      for (int64_t i = 0; i < n; i += 16)
        row_max[r] = max16(row_max[r], _mm512_abs_ps(_mm512_maskz_loadu_ps(tail_mask(n - i), row + i)));
    }
    const __m512 maxima = transpose_reduce16(row_max, max16);
    // 127 / absmax, 0 for an all-zero row: the scalar path's IEEE division, lane by lane.
    alignas(64) float inv[16];
    _mm512_store_ps(inv, _mm512_maskz_div_ps(_mm512_cmp_ps_mask(maxima, _mm512_setzero_ps(), _CMP_GT_OQ),
                                             _mm512_set1_ps(127.f), maxima));
    alignas(64) float maxima_out[16];
    _mm512_store_ps(maxima_out, maxima);
    __m512 totals[16];
    for (int r = 0; r < count; ++r) {
      const float* row = x + (r0 + r) * x_stride;
      uint8_t* dst = out + (r0 + r) * out_stride;
      const __m512 vinv = _mm512_set1_ps(inv[r]);
      __m512i total = _mm512_setzero_si512();
      for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 m = tail_mask(n - i);
        const __m128i q = quantize16(_mm512_maskz_loadu_ps(m, row + i), vinv);  // masked-off lanes give 0
        total = _mm512_add_epi32(total, _mm512_cvtepi8_epi32(q));
        store16(dst + i, m, _mm_xor_si128(q, vflip));
      }
      totals[r] = _mm512_castsi512_ps(total);
      absmax[r0 + r] = maxima_out[r];
    }
    if (!sums) continue;
    for (int r = count; r < 16; ++r) totals[r] = _mm512_setzero_ps();
    alignas(64) int32_t row_sums[16];
    _mm512_store_si512(row_sums, _mm512_castps_si512(transpose_reduce16(totals, add_epi32_as_ps)));
    std::copy_n(row_sums, count, sums + r0);
  }
}

void column_absmax_avx512(const float* x, int64_t rows, int64_t cols, int64_t stride, float* absmax) {
  for (int64_t c = 0; c < cols; c += 16) {
    const __mmask16 m = tail_mask(cols - c);
    __m512 vmax = _mm512_maskz_loadu_ps(m, absmax + c);
    for (int64_t r = 0; r < rows; ++r) vmax = max16(vmax, _mm512_abs_ps(_mm512_maskz_loadu_ps(m, x + r * stride + c)));
    _mm512_mask_storeu_ps(absmax + c, m, vmax);
  }
}

void quantize_channels_avx512(const float* x, int64_t n, const float* inv, int8_t* out) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), quantize16(_mm512_loadu_ps(x + i), _mm512_loadu_ps(inv + i)));
  if (i < n) {
    const __mmask16 m = tail_mask(n - i);
    _mm_mask_storeu_epi8(out + i, m, quantize16(_mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, inv + i)));
  }
}

void scores_tile_avx512(const uint8_t* qa, int64_t qa_stride, int rows, int64_t hd_quads, const int8_t* kq,
                        const float* k_scale, const int32_t* k_corr, float* s, int64_t s_stride) {
  kScores[rows](qa, qa_stride, hd_quads, kq, k_scale, k_corr, s, s_stride);
}

int32_t exp_bytes_avx512(const float* s, float q_scale, int64_t keys, int64_t keys_padded, uint8_t* p,
                         uint64_t* nonzero, bool sparse) {
  // The max in four chains: one chain waited on vmaxps' latency at every step.
  __m512 m0 = _mm512_set1_ps(-__builtin_inff()), m1 = m0, m2 = m0, m3 = m0;
  int64_t j = 0;
  for (; j + 64 <= keys; j += 64) {
    m0 = max16(m0, _mm512_loadu_ps(s + j));
    m1 = max16(m1, _mm512_loadu_ps(s + j + 16));
    m2 = max16(m2, _mm512_loadu_ps(s + j + 32));
    m3 = max16(m3, _mm512_loadu_ps(s + j + 48));
  }
  for (; j + 16 <= keys; j += 16) m0 = max16(m0, _mm512_loadu_ps(s + j));
  if (j < keys) {
    const __mmask16 m = tail_mask(keys - j);
    m0 = _mm512_mask_max_ps(m0, m, m0, _mm512_maskz_loadu_ps(m, s + j));
  }
  const __m512 scale = _mm512_set1_ps(q_scale);
  const __m512 neg_max = _mm512_set1_ps(-(horizontal_max(max16(max16(m0, m1), max16(m2, m3))) * q_scale));
  const __m512i sum = sparse ? exp_groups<true>(s, scale, neg_max, keys, p, nonzero)
                             : exp_groups<false>(s, scale, neg_max, keys, p, nonzero);
  std::fill(p + keys, p + keys_padded, uint8_t{0});
  return horizontal_sum(sum);
}

void values_tile_avx512(const uint8_t* p, int rows, int64_t key_quads, const uint64_t* groups, const int8_t* vq,
                        const float* v_scale, const float* row_factor, float* o, int64_t o_stride, int cols_valid) {
  kValues[rows](p, key_quads, groups, vq, v_scale, row_factor, o, o_stride, cols_valid);
}

}  // namespace gemma4::kernels::detail
