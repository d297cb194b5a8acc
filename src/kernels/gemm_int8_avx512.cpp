// AVX512-VNNI micro-kernels of the int8 GEMM (gemm_int8.h): a tile of up to 12 activation
// rows × 32 outputs lives in 24 int32 accumulators; each K step (4 bytes) loads one packed
// weight quad row (two 512-bit loads) and broadcasts 4 activation bytes per row: 24 vpdpbusd
// per 14 loads, the layout of the bf16 kernel (gemm_avx512.cpp) with 4 products per lane.
#include <immintrin.h>

#include <algorithm>
#include <cmath>

#include "kernels/gemm_int8.h"
#include "kernels/gemm_int8_internal.h"
#include "kernels/int8_dot_avx512.h"
#include "kernels/vec_math_avx512.h"

namespace gemma4::kernels::detail {
namespace {

constexpr int kTileRows = 12;

__m512i clamp_int(__m512i v, int lo, int hi) {
  return _mm512_maskz_min_epi32(0xffff, _mm512_maskz_max_epi32(0xffff, v, _mm512_set1_epi32(lo)), _mm512_set1_epi32(hi));
}

template <int R, Epilogue E>
void tile(const uint8_t* a, int64_t a_stride, const float* a_scale, int64_t k_quads, const Int8Panel& panel, float* y,
          int64_t y_stride, int cols_valid, __m512 lo, __m512 hi) {
  __v16si acc0[R], acc1[R];
  dot_tile<R>(a, a_stride, k_quads, panel.q, acc0, acc1);
  const __mmask16 m0 = tail_mask(cols_valid), m1 = tail_mask(std::max(0, cols_valid - 16));
  const __m512i c0 = _mm512_loadu_si512(panel.correction), c1 = _mm512_loadu_si512(panel.correction + 16);
  const __m512 s0 = _mm512_loadu_ps(panel.w_scale), s1 = _mm512_loadu_ps(panel.w_scale + 16);
  // The same operations, in the same order, as panel_int8_scalar: identical results.
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    const __m512 as = _mm512_set1_ps(a_scale[r]);
    __m512 v0 = _mm512_mul_ps(_mm512_mul_ps(to_float(_mm512_sub_epi32((__m512i)acc0[r], c0)), s0), as);
    __m512 v1 = _mm512_mul_ps(_mm512_mul_ps(to_float(_mm512_sub_epi32((__m512i)acc1[r], c1)), s1), as);
    v0 = min16(max16(v0, lo), hi);
    v1 = min16(max16(v1, lo), hi);
    float* out = y + r * y_stride;
    if constexpr (E == Epilogue::silu) {  // as kernels::silu: identical results
      v0 = sigmoid_mul16(v0, v0);
      v1 = sigmoid_mul16(v1, v1);
    } else if constexpr (E == Epilogue::gelu_times_y) {  // as kernels::gelu_tanh_mul: identical results
      v0 = gelu_tanh_mul16(v0, _mm512_maskz_loadu_ps(m0, out));
      v1 = gelu_tanh_mul16(v1, _mm512_maskz_loadu_ps(m1, out + 16));
    }
    store16(out, m0, v0);
    store16(out + 16, m1, v1);
  }
}

using TileFn = void (*)(const uint8_t*, int64_t, const float*, int64_t, const Int8Panel&, float*, int64_t, int, __m512,
                        __m512);
template <Epilogue E>
constexpr TileFn kTiles[kTileRows + 1] = {nullptr,      tile<1, E>,  tile<2, E>,  tile<3, E>, tile<4, E>,
                                          tile<5, E>,   tile<6, E>,  tile<7, E>,  tile<8, E>, tile<9, E>,
                                          tile<10, E>,  tile<11, E>, tile<12, E>};

template <Epilogue E>
void panel_tiles(const uint8_t* a, int64_t a_stride, const float* a_scale, int64_t m, int64_t k_quads,
                 const Int8Panel& panel, float* y, int64_t y_stride, int cols_valid, float lo, float hi) {
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  int64_t t = 0;
  for (; t + kTileRows <= m; t += kTileRows)
    tile<kTileRows, E>(a + t * a_stride, a_stride, a_scale + t, k_quads, panel, y + t * y_stride, y_stride, cols_valid,
                       vlo, vhi);
  if (t < m)
    kTiles<E>[m - t](a + t * a_stride, a_stride, a_scale + t, k_quads, panel, y + t * y_stride, y_stride, cols_valid,
                     vlo, vhi);
}

}  // namespace

void panel_int8_avx512(const uint8_t* a, int64_t a_stride, const float* a_scale, int64_t m, int64_t k_quads,
                       const Int8Panel& panel, float* y, int64_t y_stride, int cols_valid, float lo, float hi,
                       Epilogue epilogue) {
  const auto tiles = epilogue == Epilogue::silu           ? panel_tiles<Epilogue::silu>
                     : epilogue == Epilogue::gelu_times_y ? panel_tiles<Epilogue::gelu_times_y>
                                                          : panel_tiles<Epilogue::store>;
  tiles(a, a_stride, a_scale, m, k_quads, panel, y, y_stride, cols_valid, lo, hi);
}

void quantize_rows_int8_avx512(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_quads, float lo,
                               float hi, uint8_t* out, int64_t out_stride, float* scales) {
  const int64_t width = 4 * k_quads;
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  const __m512i v128 = _mm512_set1_epi32(128);
  const auto clamped = [&](const float* p, __mmask16 m) {
    return min16(max16(_mm512_maskz_loadu_ps(m, p), vlo), vhi);
  };
  for (int64_t t = 0; t < n; ++t) {
    const float* row = x + t * x_stride;
    uint8_t* dst = out + t * out_stride;
    __m512 vmax = _mm512_setzero_ps();
    for (int64_t c = 0; c < cols; c += 16) {
      const __mmask16 m = tail_mask(cols - c);
      // Masked-off lanes load 0, clamp to within [lo, hi] and are dropped by the mask here.
      vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_abs_ps(clamped(row + c, m)));
    }
    const float absmax = horizontal_max(vmax);
    const float inv = absmax > 0.f ? 127.f / absmax : 0.f;
    scales[t] = absmax / 127.f;
    const __m512 vinv = _mm512_set1_ps(inv);
    for (int64_t c = 0; c < cols; c += 16) {
      const __mmask16 m = tail_mask(cols - c);
      const __m512i q = _mm512_add_epi32(clamp_int(to_int_nearest(_mm512_mul_ps(clamped(row + c, m), vinv)), -127, 127),
                                         v128);  // to_int_nearest: round half to even, as std::nearbyint
      store16(dst + c, m, _mm512_maskz_cvtepi32_epi8(0xffff, q));
    }
    std::fill(dst + cols, dst + width, uint8_t{128});
  }
}

}  // namespace gemma4::kernels::detail
