// AVX512-BF16 micro-kernels of the packed GEMM (gemm.h): a tile of up to 12 activation rows ×
// 32 outputs lives in 24 accumulator registers; each step loads one pair-interleaved weight
// row (two 512-bit loads) and broadcasts one bf16 pair per activation row, 24 vdpbf16ps per
// 14 loads (12 rows measured ~10% faster than 8 here).
#include <immintrin.h>

#include "kernels/gemm.h"
#include "kernels/gemm_internal.h"
#include "kernels/vec_math_avx512.h"

namespace gemma4::kernels::detail {
namespace {

constexpr int kTileRows = 12;

// Full-mask forms: GCC 12's unmasked _mm512_{min,max}_ps trip -Wuninitialized.
__m512 clamp16(__m512 v, __m512 lo, __m512 hi) {
  return _mm512_mask_min_ps(v, 0xffff, _mm512_mask_max_ps(v, 0xffff, v, lo), hi);
}

// Clamped: the stores clamp to [lo, hi] (two more operations per output vector, ~6% of a tile
// over K = 64, as in attention's Q·Kᵀ; so they are only compiled in where bounds are set).
template <int R, bool Clamped, bool Silu>
void tile(const uint32_t* a, int64_t a_stride, int64_t k_pairs, const uint32_t* panel, float* y, int64_t y_stride,
          int cols_valid,
          __m512 lo, __m512 hi) {
  __m512 acc0[R], acc1[R];
  // Fully unrolled (so the accumulators live in registers, not on the stack).
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
  for (int64_t p = 0; p < k_pairs; ++p) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(panel + p * kGemmPanel);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(panel + p * kGemmPanel + 16);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const __m512bh ar = (__m512bh)_mm512_set1_epi32(static_cast<int>(a[r * a_stride + p]));
      acc0[r] = _mm512_dpbf16_ps(acc0[r], ar, b0);
      acc1[r] = _mm512_dpbf16_ps(acc1[r], ar, b1);
    }
  }
  const __mmask16 m0 = cols_valid >= 16 ? __mmask16(0xffff) : __mmask16((1u << cols_valid) - 1);
  const __mmask16 m1 = cols_valid >= 32 ? __mmask16(0xffff)
                       : cols_valid > 16 ? __mmask16((1u << (cols_valid - 16)) - 1)
                                         : __mmask16(0);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    __m512 v0 = Clamped ? clamp16(acc0[r], lo, hi) : acc0[r];
    __m512 v1 = Clamped ? clamp16(acc1[r], lo, hi) : acc1[r];
    if constexpr (Silu) {  // as kernels::silu: identical results
      v0 = sigmoid_mul16(v0, v0);
      v1 = sigmoid_mul16(v1, v1);
    }
    store16(y + r * y_stride, m0, v0);
    store16(y + r * y_stride + 16, m1, v1);
  }
}

using TileFn = void (*)(const uint32_t*, int64_t, int64_t, const uint32_t*, float*, int64_t, int, __m512, __m512);
template <bool Clamped, bool Silu>
constexpr TileFn kTiles[kTileRows + 1] = {
    nullptr,                      tile<1, Clamped, Silu>,  tile<2, Clamped, Silu>,  tile<3, Clamped, Silu>,
    tile<4, Clamped, Silu>,       tile<5, Clamped, Silu>,  tile<6, Clamped, Silu>,  tile<7, Clamped, Silu>,
    tile<8, Clamped, Silu>,       tile<9, Clamped, Silu>,  tile<10, Clamped, Silu>, tile<11, Clamped, Silu>,
    tile<12, Clamped, Silu>};

template <bool Clamped, bool Silu>
void panel_tiles(const uint32_t* a, int64_t a_stride, int64_t m, int64_t k_pairs, const uint32_t* panel, float* y,
                 int64_t y_stride, int cols_valid, float lo, float hi) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  int64_t t = 0;
  for (; t + kTileRows <= m; t += kTileRows)
    tile<kTileRows, Clamped, Silu>(a + t * a_stride, a_stride, k_pairs, panel, y + t * y_stride, y_stride,
                                   cols_valid, vlo, vhi);
  if (t < m)
    kTiles<Clamped, Silu>[m - t](a + t * a_stride, a_stride, k_pairs, panel, y + t * y_stride, y_stride, cols_valid,
                                 vlo, vhi);
}

}  // namespace

void panel_avx512(const uint32_t* a, int64_t a_stride, int64_t m, int64_t k_pairs, const uint32_t* panel, float* y,
                  int64_t y_stride, int cols_valid, float lo, float hi, Activation act) {
  const bool clamped = lo > -__builtin_inff() || hi < __builtin_inff();
  using PanelTiles = void (*)(const uint32_t*, int64_t, int64_t, int64_t, const uint32_t*, float*, int64_t, int, float,
                              float);
  const PanelTiles tiles = act == Activation::silu ? (clamped ? panel_tiles<true, true> : panel_tiles<false, true>)
                                                   : (clamped ? panel_tiles<true, false> : panel_tiles<false, false>);
  tiles(a, a_stride, m, k_pairs, panel, y, y_stride, cols_valid, lo, hi);
}

void round_pairs_avx512(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_pairs, float lo,
                        float hi, uint32_t* out, int64_t out_stride) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  for (int64_t t = 0; t < n; ++t) {
    const float* row = x + t * x_stride;
    uint16_t* dst = reinterpret_cast<uint16_t*>(out + t * out_stride);
    int64_t c = 0;
    for (; c + 32 <= cols; c += 32) {
      // cvtne2ps_pbh(hi, lo): the low 16 bf16 come from the second argument.
      const __m512bh v = _mm512_cvtne2ps_pbh(clamp16(_mm512_loadu_ps(row + c + 16), vlo, vhi),
                                             clamp16(_mm512_loadu_ps(row + c), vlo, vhi));
      _mm512_storeu_si512(dst + c, (__m512i)v);
    }
    if (c < cols) {
      const int rest = static_cast<int>(cols - c);  // < 32
      const __mmask16 lo_mask = rest >= 16 ? __mmask16(0xffff) : __mmask16((1u << rest) - 1);
      const __mmask16 hi_mask = rest > 16 ? __mmask16((1u << (rest - 16)) - 1) : __mmask16(0);
      // Masked-off lanes load 0, clamp to within [lo, hi] and are not stored.
      const __m512 low16 = clamp16(_mm512_maskz_loadu_ps(lo_mask, row + c), vlo, vhi);
      const __m512 high16 = clamp16(_mm512_maskz_loadu_ps(hi_mask, row + c + 16), vlo, vhi);
      const __m512bh v = _mm512_cvtne2ps_pbh(high16, low16);
      const int64_t stored = 2 * k_pairs - c;  // includes the zero pad of an odd last column
      _mm512_mask_storeu_epi16(dst + c, static_cast<__mmask32>((uint64_t{1} << stored) - 1), (__m512i)v);
    }
  }
}

}  // namespace gemma4::kernels::detail
