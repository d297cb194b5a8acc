// The int8 dot-product tile of the VNNI kernels (gemm_int8_avx512.cpp, attention_int8_avx512.cpp):
// up to 12 rows of unsigned activation bytes against 32 packed signed columns, in 24 int32
// accumulators; each 4-byte K step loads one packed quad row (two 512-bit loads) and broadcasts
// 4 bytes per row: 24 vpdpbusd per 14 loads. Include only from *_avx512.cpp files.
#pragma once
#include <immintrin.h>

#include <cstdint>

namespace gemma4::kernels::detail {

// acc + Σ of 4 byte products per int32 lane. GCC gets its builtin on GCC vectors (see below);
// clang, which lacks that builtin and keeps vectors in registers either way, the intrinsic.
__attribute__((always_inline)) inline __v16si dpbusd(__v16si acc, __m512i a, __m512i b) {
#if defined(__clang__)
  return (__v16si)_mm512_dpbusd_epi32((__m512i)acc, a, b);
#else
  return __builtin_ia32_vpdpbusd_v16si(acc, (__v16si)a, (__v16si)b);
#endif
}

// acc0/acc1[r] += Σ_i a[r][4c + i] · b[c][0..31][i] over quads c < quads; rows of a are
// a_stride bytes apart, b advances 128 bytes a quad. The accumulators are GCC vectors of int32
// and GCC's builtin is called directly (with __m512i and _mm512_dpbusd_epi32's casts GCC 12 kept
// them on the stack); always inlined, or they live in memory and the kernel runs at half speed.
template <int R>
__attribute__((always_inline)) inline void dot_tile_accumulate(const uint8_t* a, int64_t a_stride, int64_t quads,
                                                               const int8_t* b, __v16si* acc0, __v16si* acc1) {
  for (int64_t c = 0; c < quads; ++c, b += 32 * 4) {
    const __m512i b0 = _mm512_loadu_si512(b);
    const __m512i b1 = _mm512_loadu_si512(b + 64);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      int32_t quad;
      __builtin_memcpy(&quad, a + r * a_stride + 4 * c, 4);
      const __m512i ar = _mm512_set1_epi32(quad);
      acc0[r] = dpbusd(acc0[r], ar, b0);
      acc1[r] = dpbusd(acc1[r], ar, b1);
    }
  }
}

// The same from acc0/acc1[r] = init0/init1.
template <int R>
__attribute__((always_inline)) inline void dot_tile(const uint8_t* a, int64_t a_stride, int64_t quads,
                                                    const int8_t* b, __v16si* acc0, __v16si* acc1,
                                                    __v16si init0 = __v16si{}, __v16si init1 = __v16si{}) {
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    acc0[r] = init0;
    acc1[r] = init1;
  }
  dot_tile_accumulate<R>(a, a_stride, quads, b, acc0, acc1);
}

}  // namespace gemma4::kernels::detail
