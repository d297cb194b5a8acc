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

// Dot products of R float/bf16 weight rows with T token rows. A lone row and token (decode)
// gets two accumulators so the FMA latency does not limit the streaming rate.
template <class W, class Loader>
struct FloatRowDot {
  const MatmulJob* job;
  template <int R, int T>
  void run(int64_t row, int64_t t0, float (*out)[kTokenTile]) const {
    const int64_t cols = job->w->cols;
    const W* w = static_cast<const W*>(job->w->data) + row * cols;
    const float* x = job->x + t0 * cols;
    constexpr int U = R * T == 1 ? 2 : 1;
    __m256 acc[R][T][U];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t)
        for (int u = 0; u < U; ++u) acc[r][t][u] = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 8 * U <= cols; i += 8 * U) {
      for (int u = 0; u < U; ++u) {
        __m256 wv[R];
        for (int r = 0; r < R; ++r) wv[r] = Loader::load(w + r * cols + i + 8 * u);
        for (int t = 0; t < T; ++t) {
          const __m256 xv = _mm256_loadu_ps(x + t * cols + i + 8 * u);
          for (int r = 0; r < R; ++r) acc[r][t][u] = _mm256_fmadd_ps(wv[r], xv, acc[r][t][u]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) {
        __m256 a = acc[r][t][0];
        for (int u = 1; u < U; ++u) a = _mm256_add_ps(a, acc[r][t][u]);
        float s = hsum(a);
        for (int64_t j = i; j < cols; ++j) s += Loader::one(w + r * cols + j) * x[t * cols + j];
        out[r][t] = s;
      }
  }
};

inline float f16_scale(uint16_t h) { return _cvtsh_ss(h); }

// Sum of 32 products u8 × s8 as 8 int32 lanes.
inline __m256i dot_u8s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}

// Q8_0: maddubs wants one unsigned operand and saturates int16 pairs, so it gets |a| and w
// carrying a's sign (|products| <= 127·127, pairs fit).
struct Q8RowDot {
  const MatmulJob* job;
  template <int R, int T>
  void run(int64_t row, int64_t t0, float (*out)[kTokenTile]) const {
    const QuantizedActs& xq = *job->xq;
    const int64_t blocks = xq.blocks;
    const BlockQ8_0* w = static_cast<const BlockQ8_0*>(job->w->data) + row * blocks;
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
      __m256i wq[R];
      __m256 dw[R];
      for (int r = 0; r < R; ++r) {
        wq[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[r * blocks + b].qs));
        dw[r] = _mm256_set1_ps(f16_scale(w[r * blocks + b].d));
      }
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q(t0 + t) + b * kQK));
        const __m256i abs_a = _mm256_sign_epi8(a, a);
        const __m256 da = _mm256_loadu_ps(xq.d(t0 + t) + b * 8);
        for (int r = 0; r < R; ++r) {
          const __m256i dot = dot_u8s8(abs_a, _mm256_sign_epi8(wq[r], a));
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[r], da), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[r][t] = hsum(acc[r][t]);
  }
};

// Q4_0: the stored nibbles q + 8 in [0, 15] are the unsigned operand; the offset is removed
// with the activation sums (8 lanes each subtract Σa: 8·Σa in all).
struct Q4RowDot {
  const MatmulJob* job;
  template <int R, int T>
  void run(int64_t row, int64_t t0, float (*out)[kTokenTile]) const {
    const QuantizedActs& xq = *job->xq;
    const int64_t blocks = xq.blocks;
    const BlockQ4_0* w = static_cast<const BlockQ4_0*>(job->w->data) + row * blocks;
    const __m128i low4 = _mm_set1_epi8(0x0f);
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
      __m256i wq[R];
      __m256 dw[R];
      for (int r = 0; r < R; ++r) {
        // Elements 0..15 are the low nibbles, 16..31 the high nibbles.
        const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[r * blocks + b].qs));
        wq[r] = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), low4), _mm_and_si128(raw, low4));
        dw[r] = _mm256_set1_ps(f16_scale(w[r * blocks + b].d));
      }
      for (int t = 0; t < T; ++t) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q(t0 + t) + b * kQK));
        const __m256i sum = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.sum(t0 + t) + b * 8));
        const __m256 da = _mm256_loadu_ps(xq.d(t0 + t) + b * 8);
        for (int r = 0; r < R; ++r) {
          const __m256i dot = _mm256_sub_epi32(dot_u8s8(wq[r], a), sum);
          acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[r], da), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[r][t] = hsum(acc[r][t]);
  }
};

// Q4R (tensor/quant.h): one 32-byte load gives two blocks (low and high nibbles).
struct Q4rRowDot {
  const MatmulJob* job;
  template <int R, int T>
  void run(int64_t row, int64_t t0, float (*out)[kTokenTile]) const {
    const QuantizedActs& xq = *job->xq;
    const int64_t row_bytes = job->w->row_bytes(), cols = job->w->cols;
    const uint8_t* base = static_cast<const uint8_t*>(job->w->data) + row * row_bytes;
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    __m256 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
    for (int64_t b = 0; b < xq.blocks; b += 2) {
      __m256i wq[2][R];
      __m256 dw[2][R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* wr = base + r * row_bytes;
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + b * 16));
        wq[0][r] = _mm256_and_si256(raw, low4);
        wq[1][r] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
        const uint16_t* scales = reinterpret_cast<const uint16_t*>(wr + cols / 2);
        dw[0][r] = _mm256_set1_ps(f16_scale(scales[b]));
        dw[1][r] = _mm256_set1_ps(f16_scale(scales[b + 1]));
      }
      for (int h = 0; h < 2; ++h)
        for (int t = 0; t < T; ++t) {
          const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q(t0 + t) + (b + h) * kQK));
          const __m256i sum = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.sum(t0 + t) + (b + h) * 8));
          const __m256 da = _mm256_loadu_ps(xq.d(t0 + t) + (b + h) * 8);
          for (int r = 0; r < R; ++r) {
            const __m256i dot = _mm256_sub_epi32(dot_u8s8(wq[h][r], a), sum);
            acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw[h][r], da), acc[r][t]);
          }
        }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[r][t] = hsum(acc[r][t]);
  }
};

// 2 rows × 4 tokens: 8 accumulators of the 16 registers.
constexpr int kRows = 2;

void rows_f32(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile<kRows>(job, r0, r1, FloatRowDot<float, F32Loader>{&job});
}
void rows_bf16(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile<kRows>(job, r0, r1, FloatRowDot<uint16_t, Bf16Loader>{&job});
}
void rows_q8_0(const MatmulJob& job, int64_t r0, int64_t r1) { for_each_tile<kRows>(job, r0, r1, Q8RowDot{&job}); }
void rows_q4_0(const MatmulJob& job, int64_t r0, int64_t r1) { for_each_tile<kRows>(job, r0, r1, Q4RowDot{&job}); }

void rows_q4r(const MatmulJob& job, int64_t r0, int64_t r1) { for_each_tile<kRows>(job, r0, r1, Q4rRowDot{&job}); }

}  // namespace

const KernelTable& avx2_kernels() {
  // Q4I / Q8I are laid out for 512-bit VNNI; AVX2 machines should load Q4R / Q8_0 instead
  // (the scalar kernels keep them correct everywhere).
  static const KernelTable table{rows_f32,         rows_bf16,         rows_q8_0, rows_q4_0, rows_q4r,
                                 scalar_kernels().q4i, scalar_kernels().q8i, scalar_kernels().q4s};
  return table;
}

}  // namespace gemma4::kernels::detail
