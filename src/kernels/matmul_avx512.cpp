// AVX-512 kernels (F/BW/VL/DQ + VNNI + BF16: Zen 4/5, Sapphire Rapids). Compiled with those
// flags and called only when CPUID reports all of them.
//
// Block formats process two 32-blocks per 512-bit register: VNNI's vpdpbusd sums u8 × s8
// products into 16 int32 lanes, lanes 0..7 for the first block and 8..15 for the second,
// which are then scaled by [dw0·dx0 ×8, dw1·dx1 ×8] and accumulated in float32.
// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own "undefined" temporaries
// (GCC bug 105593); the warning is about the header, not this code.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include "kernels/matmul_internal.h"
#include "kernels/matmul_tiles.h"

namespace gemma4::kernels::detail {
namespace {

// 16 weights as float32, whole or masked (the column tail).
struct F32Loader {
  static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
  static __m512 load(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct Bf16Loader {
  static __m512 widen(__m256i v) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)); }
  static __m512 load(const uint16_t* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load(const uint16_t* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
};

// Dot products of one float/bf16 weight row with T token rows; the column tail is masked.
template <class W, class Loader>
struct FloatRowDot {
  const MatmulJob* job;
  template <int T>
  void run(int64_t row, int64_t t0, float* out) const {
    const int64_t cols = job->w->cols;
    const W* w = static_cast<const W*>(job->w->data) + row * cols;
    const float* x = job->x + t0 * cols;
    constexpr int U = T == 1 ? 2 : 1;
    __m512 acc[T][U];
    for (int t = 0; t < T; ++t)
      for (int u = 0; u < U; ++u) acc[t][u] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 * U <= cols; i += 16 * U) {
      for (int u = 0; u < U; ++u) {
        const __m512 wv = Loader::load(w + i + 16 * u);
        for (int t = 0; t < T; ++t)
          acc[t][u] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + t * cols + i + 16 * u), acc[t][u]);
      }
    }
    for (; i < cols; i += 16) {
      const __mmask16 m = cols - i >= 16 ? __mmask16(0xffff) : __mmask16((1u << (cols - i)) - 1);
      const __m512 wv = Loader::load(w + i, m);
      for (int t = 0; t < T; ++t)
        acc[t][0] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + t * cols + i), acc[t][0]);
    }
    for (int t = 0; t < T; ++t) {
      __m512 a = acc[t][0];
      for (int u = 1; u < U; ++u) a = _mm512_add_ps(a, acc[t][u]);
      out[t] = _mm512_reduce_add_ps(a);
    }
  }
};

inline __m512i load_2x256(const void* lo, const void* hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256(static_cast<const __m256i*>(lo))),
                            _mm256_loadu_si256(static_cast<const __m256i*>(hi)), 1);
}
inline __m512 scale_pair(uint16_t d0, uint16_t d1) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(_cvtsh_ss(d0))), _mm256_set1_ps(_cvtsh_ss(d1)), 1);
}

// vpdpbusd wants an unsigned operand: |a| times w carrying a's sign.
inline __m512i dot_signed_pair(__m512i w, __m512i a) {
  const __mmask64 negative = _mm512_movepi8_mask(a);
  const __m512i signed_w = _mm512_mask_sub_epi8(w, negative, _mm512_setzero_si512(), w);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(a), signed_w);
}
inline __m256i dot_signed_one(__m256i w, __m256i a) {
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(a, a), _mm256_sign_epi8(w, a));
}

struct Q8RowDot {
  const MatmulJob* job;
  template <int T>
  void run(int64_t row, int64_t t0, float* out) const {
    const QuantizedActs& xq = *job->xq;
    const int64_t blocks = xq.blocks;
    const BlockQ8_0* w = static_cast<const BlockQ8_0*>(job->w->data) + row * blocks;
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
      const __m512i wq = load_2x256(w[b].qs, w[b + 1].qs);
      const __m512 dw = scale_pair(w[b].d, w[b + 1].d);
      for (int t = 0; t < T; ++t) {
        const __m512i a = _mm512_loadu_si512(xq.q(t0 + t) + b * kQK);
        const __m512 scale = _mm512_mul_ps(dw, _mm512_loadu_ps(xq.d(t0 + t) + b * 8));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot_signed_pair(wq, a)), scale, acc[t]);
      }
    }
    float tail[T] = {};
    if (b < blocks) {  // an odd block count: the last block on 256-bit registers
      const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
      const __m256 dw = _mm256_set1_ps(_cvtsh_ss(w[b].d));
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q(t0 + t) + b * kQK));
        const __m256 scale = _mm256_mul_ps(dw, _mm256_loadu_ps(xq.d(t0 + t) + b * 8));
        const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(dot_signed_one(wq, a)), scale);
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        tail[t] = _mm_cvtss_f32(s);
      }
    }
    for (int t = 0; t < T; ++t) out[t] = _mm512_reduce_add_ps(acc[t]) + tail[t];
  }
};

inline __m256i unpack_q4(const BlockQ4_0& blk) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.qs));
  const __m128i low4 = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), low4), _mm_and_si128(raw, low4));
}

struct Q4RowDot {
  const MatmulJob* job;
  template <int T>
  void run(int64_t row, int64_t t0, float* out) const {
    const QuantizedActs& xq = *job->xq;
    const int64_t blocks = xq.blocks;
    const BlockQ4_0* w = static_cast<const BlockQ4_0*>(job->w->data) + row * blocks;
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m512 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
      // [qs0 | qs1] -> 128-bit lanes [lo0, hi0, lo1, hi1]: nibble values q + 8 in [0, 15].
      const __m256i raw = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b + 1].qs)),
                                           _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs)));
      const __m256i lo = _mm256_and_si256(raw, low4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
      const __m512i lohi = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);  // [lo0, lo1, hi0, hi1]
      const __m512i wq = _mm512_shuffle_i64x2(lohi, lohi, _MM_SHUFFLE(3, 1, 2, 0));
      const __m512 dw = scale_pair(w[b].d, w[b + 1].d);
      for (int t = 0; t < T; ++t) {
        const __m512i a = _mm512_loadu_si512(xq.q(t0 + t) + b * kQK);
        // Remove the +8 offset: 8 lanes per block each subtract Σa, 8·Σa in all.
        const __m512i dot = _mm512_sub_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), wq, a),
                                             _mm512_loadu_si512(xq.sum(t0 + t) + b * 8));
        const __m512 scale = _mm512_mul_ps(dw, _mm512_loadu_ps(xq.d(t0 + t) + b * 8));
        acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), scale, acc[t]);
      }
    }
    float tail[T] = {};
    if (b < blocks) {
      const __m256i wq = unpack_q4(w[b]);
      const __m256 dw = _mm256_set1_ps(_cvtsh_ss(w[b].d));
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q(t0 + t) + b * kQK));
        const __m256i dot = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), wq, a),
                                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.sum(t0 + t) + b * 8)));
        const __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, _mm256_loadu_ps(xq.d(t0 + t) + b * 8)));
        __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        s = _mm_add_ss(s, _mm_movehdup_ps(s));
        tail[t] = _mm_cvtss_f32(s);
      }
    }
    for (int t = 0; t < T; ++t) out[t] = _mm512_reduce_add_ps(acc[t]) + tail[t];
  }
};

void rows_f32(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile(job, r0, r1, FloatRowDot<float, F32Loader>{&job});
}
void rows_bf16(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile(job, r0, r1, FloatRowDot<uint16_t, Bf16Loader>{&job});
}
void rows_q8_0(const MatmulJob& job, int64_t r0, int64_t r1) { for_each_tile(job, r0, r1, Q8RowDot{&job}); }
void rows_q4_0(const MatmulJob& job, int64_t r0, int64_t r1) { for_each_tile(job, r0, r1, Q4RowDot{&job}); }

}  // namespace

const KernelTable& avx512_kernels() {
  static const KernelTable table{rows_f32, rows_bf16, rows_q8_0, rows_q4_0};
  return table;
}

}  // namespace gemma4::kernels::detail
