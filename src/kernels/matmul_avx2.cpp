// AVX2 + FMA + F16C kernels (any x86-64 CPU since 2013). Compiled with -mavx2 -mfma -mf16c
// and called only when CPUID reports them.
#include <immintrin.h>

#include "kernels/matmul_internal.h"
#include "kernels/matmul_tiles.h"

namespace gemma4::kernels::detail {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// 8 weights as float32, and one (the column tail).
struct F32Loader {
  static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
  static float one(const float* p) { return *p; }
};
struct Bf16Loader {
  static __m256 load(const uint16_t* p) {
    const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
  }
  static float one(const uint16_t* p) {
    const uint32_t bits = static_cast<uint32_t>(*p) << 16;
    float f;
    __builtin_memcpy(&f, &bits, 4);
    return f;
  }
};

// Dot products of one float/bf16 weight row with T token rows. A single token (decode) gets
// two independent accumulators so the FMA latency does not limit the streaming rate.
template <class W, class Loader>
struct FloatRowDot {
  const MatmulJob* job;
  template <int T>
  void run(int64_t row, int64_t t0, float* out) const {
    const int64_t cols = job->w->cols;
    const W* w = static_cast<const W*>(job->w->data) + row * cols;
    const float* x = job->x + t0 * cols;
    constexpr int U = T == 1 ? 2 : 1;
    __m256 acc[T][U];
    for (int t = 0; t < T; ++t)
      for (int u = 0; u < U; ++u) acc[t][u] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 * U <= cols; i += 8 * U) {
      for (int u = 0; u < U; ++u) {
        const __m256 wv = Loader::load(w + i + 8 * u);
        for (int t = 0; t < T; ++t)
          acc[t][u] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + t * cols + i + 8 * u), acc[t][u]);
      }
    }
    for (int t = 0; t < T; ++t) {
      __m256 a = acc[t][0];
      for (int u = 1; u < U; ++u) a = _mm256_add_ps(a, acc[t][u]);
      float s = hsum(a);
      for (int64_t j = i; j < cols; ++j) s += Loader::one(w + j) * x[t * cols + j];
      out[t] = s;
    }
  }
};

inline float f16_scale(uint16_t h) { return _cvtsh_ss(h); }

// Sum of 32 products u8 × s8 as 8 int32 lanes.
inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

struct Q8RowDot {
  const MatmulJob* job;
  template <int T>
  void run(int64_t row, int64_t t0, float* out) const {
    const QuantizedActs& xq = *job->xq;
    const BlockQ8_0* w = static_cast<const BlockQ8_0*>(job->w->data) + row * xq.blocks;
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < xq.blocks; ++b) {
      const __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].qs));
      const __m256 dw = _mm256_set1_ps(f16_scale(w[b].d));
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q(t0 + t) + b * kQK));
        // maddubs wants one unsigned operand: |a| and w carrying a's sign.
        const __m256i dot = dot_u8s8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(wq, a));
        const __m256 scale = _mm256_mul_ps(dw, _mm256_loadu_ps(xq.d(t0 + t) + b * 8));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) out[t] = hsum(acc[t]);
  }
};

struct Q4RowDot {
  const MatmulJob* job;
  template <int T>
  void run(int64_t row, int64_t t0, float* out) const {
    const QuantizedActs& xq = *job->xq;
    const BlockQ4_0* w = static_cast<const BlockQ4_0*>(job->w->data) + row * xq.blocks;
    const __m128i low4 = _mm_set1_epi8(0x0f);
    __m256 acc[T];
    for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < xq.blocks; ++b) {
      const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs));
      // Elements 0..15 are the low nibbles, 16..31 the high nibbles; values q + 8 in [0, 15].
      const __m256i wq = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), low4), _mm_and_si128(raw, low4));
      const __m256 dw = _mm256_set1_ps(f16_scale(w[b].d));
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q(t0 + t) + b * kQK));
        __m256i dot = dot_u8s8(wq, a);
        // Remove the +8 offset: 8 lanes each subtract Σa, 8·Σa in all.
        dot = _mm256_sub_epi32(dot, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.sum(t0 + t) + b * 8)));
        const __m256 scale = _mm256_mul_ps(dw, _mm256_loadu_ps(xq.d(t0 + t) + b * 8));
        acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), scale, acc[t]);
      }
    }
    for (int t = 0; t < T; ++t) out[t] = hsum(acc[t]);
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

const KernelTable& avx2_kernels() {
  static const KernelTable table{rows_f32, rows_bf16, rows_q8_0, rows_q4_0};
  return table;
}

}  // namespace gemma4::kernels::detail
