// AVX-512 vector ops: 16 floats per step, masked tails for any length.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see matmul_avx512.cpp
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kernels/vec_math_avx512.h"
#include "kernels/vector_ops_internal.h"

namespace gemma4::kernels::detail {
namespace {

float dot_avx512(const float* a, const float* b, int64_t n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

void axpy_avx512(float a, const float* x, float* y, int64_t n) {
  const __m512 va = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    store16(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void rms_norm_avx512(const float* x, const float* w, int64_t n, double eps, float* y) {
  __m512 s = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    s = _mm512_fmadd_ps(v, v, s);
  }
  const double mean = static_cast<double>(sum16(s)) / static_cast<double>(n);  // rms_norm_rows_avx512's order
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / std::sqrt(mean + eps)));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv);
    if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
    store16(y + i, m, v);
  }
}

// Rows of at most 64 values (attention heads' q/k norms): 16 rows at a time, their sums of
// squares side by side by transpose_reduce16 and their scales by one vector of double-precision
// divisions and square roots, each lane as rms_norm_avx512 computes it (the same sums in the same
// lane order, the same double operations): identical results. Longer rows go one by one.
void rms_norm_rows_avx512(const float* x, const float* w, int64_t rows, int64_t n, double eps, float* y) {
  int64_t r0 = 0;
  if (n <= 64) {
    const __m512d vn = _mm512_set1_pd(static_cast<double>(n)), veps = _mm512_set1_pd(eps), one = _mm512_set1_pd(1.0);
    for (; r0 + 16 <= rows; r0 += 16) {
      __m512 sq[16];
#pragma GCC unroll 16
      for (int r = 0; r < 16; ++r) {
        const float* row = x + (r0 + r) * n;
        __m512 s = _mm512_setzero_ps();
        for (int64_t i = 0; i < n; i += 16) {
          const __m512 v = _mm512_maskz_loadu_ps(tail_mask(n - i), row + i);
          s = _mm512_fmadd_ps(v, v, s);
        }
        sq[r] = s;
      }
      const __m512 sums = transpose_reduce16(sq, add16);
      const auto scales = [&](__m256 half) {  // (float)(1 / sqrt(sum / n + eps)), in double
        const __m512d mean = _mm512_div_pd(_mm512_cvtps_pd(half), vn);
        return _mm512_cvtpd_ps(_mm512_div_pd(one, _mm512_sqrt_pd(_mm512_add_pd(mean, veps))));
      };
      alignas(64) float inv[16];
      _mm256_store_ps(inv, scales(_mm512_castps512_ps256(sums)));
      _mm256_store_ps(inv + 8, scales(_mm512_maskz_extractf32x8_ps(0xff, sums, 1)));
      for (int r = 0; r < 16; ++r) {
        const float* row = x + (r0 + r) * n;
        float* out = y + (r0 + r) * n;
        const __m512 vinv = _mm512_set1_ps(inv[r]);
        for (int64_t i = 0; i < n; i += 16) {
          const __mmask16 m = tail_mask(n - i);
          __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, row + i), vinv);
          if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
          store16(out + i, m, v);
        }
      }
    }
  }
  for (; r0 < rows; ++r0) rms_norm_avx512(x + r0 * n, w, n, eps, y + r0 * n);
}

void gelu_tanh_mul_avx512(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    store16(g + i, m, gelu_tanh_mul16(_mm512_maskz_loadu_ps(m, g + i), _mm512_maskz_loadu_ps(m, u + i)));
  }
}

void softcap_avx512(float* x, int64_t n, float cap) {
  const __m512 vcap = _mm512_set1_ps(cap), inv = _mm512_set1_ps(1.f / cap);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    store16(x + i, m, _mm512_mul_ps(vcap, tanh_ps(_mm512_mul_ps(v, inv))));
  }
}

// The softmax of x in place; returns log Σ exp(x), the log of what it divided by.
float softmax_lse_avx512(float* x, int64_t n) {
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    mx = _mm512_mask_max_ps(mx, m, mx, _mm512_maskz_loadu_ps(m, x + i));
  }
  const __m512 vmax = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 e = _mm512_maskz_mov_ps(m, exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), vmax)));
    sum = _mm512_add_ps(sum, e);
    store16(x + i, m, e);
  }
  const float total = _mm512_reduce_add_ps(sum);
  const __m512 inv = _mm512_set1_ps(1.f / total);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    store16(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
  }
  return _mm512_cvtss_f32(vmax) + std::log(total);
}

void softmax_avx512(float* x, int64_t n) { softmax_lse_avx512(x, n); }

// Sums of 16 vectors, one per lane of the result (vec_math's transpose_reduce16).
inline __m512 reduce16(const __m512 (&v)[16]) { return transpose_reduce16(v, add16); }


// 16 consecutive K/V values as floats: float32 rows as they are, IEEE half rows widened
// (exactly: every f16 is a float32) by vcvtph2ps.
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// Keys scored together: each 16 dims of a query head are loaded once for 4 keys, and each key's
// once for up to 4 heads (8 loads per 16 FMAs instead of 9 per 8 with one key at a time).
constexpr int kScoreKeys = 4;

// scores[g · count + j0 + i] = scale · q_g · keys[k[i]] for HG ≤ 4 heads and the 4 keys k[i]
// (keys past `live` are computed from a valid row and not stored): HG × 4 accumulators,
// summed by one reduce16 (unused ones stay zero).
template <int HG, typename T>
inline void score_tile(const float* q, int64_t q_stride, const T* const (&k)[kScoreKeys], int live, int64_t dim,
                       float scale, float* scores, int64_t count, int64_t j0) {
  __m512 acc[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t d = 0; d < dim; d += 16) {
    __m512 kv[kScoreKeys];
#pragma GCC unroll 4
    for (int i = 0; i < kScoreKeys; ++i) kv[i] = load16(k[i] + d);
#pragma GCC unroll 4
    for (int g = 0; g < HG; ++g) {
      const __m512 qv = _mm512_load_ps(q + g * q_stride + d);
#pragma GCC unroll 4
      for (int i = 0; i < kScoreKeys; ++i) acc[g * kScoreKeys + i] = _mm512_fmadd_ps(qv, kv[i], acc[g * kScoreKeys + i]);
    }
  }
  alignas(64) float dots[16];
  _mm512_store_ps(dots, _mm512_mul_ps(reduce16(acc), _mm512_set1_ps(scale)));
  for (int g = 0; g < HG; ++g)
    for (int i = 0; i < live; ++i) scores[g * count + j0 + i] = dots[g * kScoreKeys + i];
}

// Key tile j0 .. j0 + 4 for G heads: tiles of up to 4 heads.
template <int G, typename T>
inline void score_keys(const float* q, int64_t q_stride, const T* const (&k)[kScoreKeys], int live, int64_t dim,
                       float scale, float* scores, int64_t count, int64_t j0) {
  if constexpr (G > 4) {
    score_tile<4>(q, q_stride, k, live, dim, scale, scores, count, j0);
    score_keys<G - 4>(q + 4 * q_stride, q_stride, k, live, dim, scale, scores + 4 * count, count, j0);
  } else {
    score_tile<G>(q, q_stride, k, live, dim, scale, scores, count, j0);
  }
}

// The value pass below reads 16·S columns of every row at a time, a pattern the hardware
// prefetchers do not follow (each row's lines missed the caches one by one); reading the rows
// in while the keys are scored puts them in L2 at the pace of the score loop.
template <typename T>
inline void prefetch_row(const T* row, int64_t dim) {
  for (int64_t d = 0; d < dim; d += 64 / sizeof(T)) _mm_prefetch(reinterpret_cast<const char*>(row + d), _MM_HINT_T1);
}

// Scores of G ≥ 4 heads (queries at q + g·dim, cache-line aligned), 4 keys at a time.
template <int G, typename T>
void score_tiles(const float* q, const T* const* keys, const T* const* values, int64_t count, int64_t dim,
                 float scale, float* scores) {
  for (int64_t j0 = 0; j0 < count; j0 += kScoreKeys) {
    const int live = static_cast<int>(std::min<int64_t>(kScoreKeys, count - j0));
    const T* k[kScoreKeys];
    for (int i = 0; i < kScoreKeys; ++i) k[i] = keys[j0 + std::min(i, live - 1)];
    // The key rows 16 ahead are asked for too: a decode step finds its K/V rows in DRAM (the
    // weights streamed since evicted them), and the four rows read side by side here, unlike
    // one row at a time, left the hardware prefetchers behind (measured with K/V out of
    // cache, 8 heads x 513 keys, against one key at a time: 0.7-0.8x without this prefetch,
    // 1.1-1.3x with it; 8 or 32 keys ahead, into L1, or the value rows further ahead were no
    // better, nor was a value pass over chunks of keys that read V rows in order).
    for (int i = 0; i < live; ++i) {
      prefetch_row(values[j0 + i], dim);
      prefetch_row(keys[std::min(j0 + i + 4 * kScoreKeys, count - 1)], dim);
    }
    score_keys<G>(q, dim, k, live, dim, scale, scores, count, j0);
  }
}

// Scores of G < 4 heads, one key at a time: with few heads a tile of 4 keys gained little
// with K/V in cache (1.05-1.1x at 2 heads) and lost with K/V in DRAM (0.8-0.9x).
template <int G, typename T>
void score_one_key_at_a_time(const float* q, const T* const* keys, const T* const* values, int64_t count,
                             int64_t dim, float scale, float* scores) {
  for (int64_t j = 0; j < count; ++j) {
    __m512 acc[G];
    for (int g = 0; g < G; ++g) acc[g] = _mm512_setzero_ps();
    prefetch_row(values[j], dim);
    for (int64_t d = 0; d < dim; d += 16) {
      const __m512 kv = load16(keys[j] + d);
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) acc[g] = _mm512_fmadd_ps(_mm512_load_ps(q + g * dim + d), kv, acc[g]);
    }
    for (int g = 0; g < G; ++g) scores[g * count + j] = scale * sum16(acc[g]);
  }
}

// out_g[d0 .. d0 + 16·S) = Σ_j scores[g · count + j] · values[j][d0 ..] for the G heads.
template <int G, int S, typename T>
inline void weigh_values(const T* const* values, const float* scores, int64_t count, int64_t d0, float* out,
                         int64_t out_stride) {
  __m512 acc[G][S];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) acc[g][s] = _mm512_setzero_ps();
  for (int64_t j = 0; j < count; ++j) {
    __m512 v[S];
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) v[s] = load16(values[j] + d0 + 16 * s);
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      const __m512 p = _mm512_set1_ps(scores[g * count + j]);
#pragma GCC unroll 8
      for (int s = 0; s < S; ++s) acc[g][s] = _mm512_fmadd_ps(p, v[s], acc[g][s]);
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) _mm512_storeu_ps(out + g * out_stride + d0 + 16 * s, acc[g][s]);
}

// Value slices (of 16 columns) per pass for G heads: G · S accumulators ≤ 24 of the 32
// registers, with S value vectors and a broadcast score beside them.
template <int G>
constexpr int kMaxSlices = 24 / G < 8 ? 24 / G : 8;

template <int G, typename T>
void weigh_slices(int slices, const T* const* values, const float* scores, int64_t count, int64_t d0, float* out,
                  int64_t out_stride) {
  auto pass = [&]<int S>() {
    if constexpr (S <= kMaxSlices<G>) weigh_values<G, S>(values, scores, count, d0, out, out_stride);
  };
  switch (slices) {
    case 8: return pass.template operator()<8>();
    case 7: return pass.template operator()<7>();
    case 6: return pass.template operator()<6>();
    case 5: return pass.template operator()<5>();
    case 4: return pass.template operator()<4>();
    case 3: return pass.template operator()<3>();
    case 2: return pass.template operator()<2>();
    default: return pass.template operator()<1>();
  }
}

// G query heads against the same keys and values (float32 or IEEE half rows); dim % 16 == 0.
template <int G, typename T>
void attend_heads_g(const float* q_in, int64_t q_stride_in, const T* const* keys, const T* const* values,
                    int64_t count, int64_t dim, float scale, float* out, int64_t out_stride, float* scores,
                    float* lse) {
  // The queries, copied to cache-line-aligned rows: the score loop loads each 16 dims of a
  // query once per key tile, and a load split across two lines costs more (one key at a
  // time: 2.0 vs 1.5 FMA/ns with q 16 bytes off a line, as a std::vector's data may be).
  thread_local std::vector<float> q_aligned;
  q_aligned.resize(static_cast<size_t>(G * dim + 16));
  float* q = q_aligned.data() + (16 - reinterpret_cast<uintptr_t>(q_aligned.data()) / sizeof(float) % 16) % 16;
  for (int g = 0; g < G; ++g) std::copy(q_in + g * q_stride_in, q_in + g * q_stride_in + dim, q + g * dim);
  if constexpr (G >= 4) {
    score_tiles<G>(q, keys, values, count, dim, scale, scores);
  } else {
    score_one_key_at_a_time<G>(q, keys, values, count, dim, scale, scores);
  }
  for (int g = 0; g < G; ++g) {
    const float log_normalizer = softmax_lse_avx512(scores + g * count, count);
    if (lse) lse[g] = log_normalizer;
  }
  // Outputs, a few 16-column slices at a time: each value row slice is loaded once for the G
  // heads, each broadcast score serves every slice of the pass (the rows are in L2 by now).
  // The slices are spread evenly over the passes (16 slices, 8 heads: 3+3+3+3+2+2, not
  // 3+3+3+3+3+1, whose last pass would load 9 times per 8 FMAs).
  const int64_t slices = dim / 16, passes = (slices + kMaxSlices<G> - 1) / kMaxSlices<G>;
  int64_t d = 0;
  for (int64_t p = 0; p < passes; ++p) {
    const int64_t n = slices * (p + 1) / passes - slices * p / passes;
    weigh_slices<G>(static_cast<int>(n), values, scores, count, d, out, out_stride);
    d += 16 * n;
  }
}

// attend_heads_g for 1..8 heads.
template <typename T>
void attend_heads_any(const float* q, int64_t q_stride, int heads, const T* const* keys, const T* const* values,
                      int64_t count, int64_t dim, float scale, float* out, int64_t out_stride, float* scores,
                      float* lse) {
  switch (heads) {
    case 8: return attend_heads_g<8>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores, lse);
    case 7: return attend_heads_g<7>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores, lse);
    case 6: return attend_heads_g<6>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores, lse);
    case 5: return attend_heads_g<5>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores, lse);
    case 4: return attend_heads_g<4>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores, lse);
    case 3: return attend_heads_g<3>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores, lse);
    case 2: return attend_heads_g<2>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores, lse);
    default: return attend_heads_g<1>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores, lse);
  }
}

void attend_heads_avx512(const float* q, int64_t q_stride, int heads, const float* const* keys,
                         const float* const* values, int64_t count, int64_t dim, float scale, float* out,
                         int64_t out_stride, float* scores) {
  attend_heads_any(q, q_stride, heads, keys, values, count, dim, scale, out, out_stride, scores, nullptr);
}

void attend_heads_f16_avx512(const float* q, int64_t q_stride, int heads, const uint16_t* const* keys,
                              const uint16_t* const* values, int64_t count, int64_t dim, float scale, float* out,
                              int64_t out_stride, float* scores, float* lse) {
  attend_heads_any(q, q_stride, heads, keys, values, count, dim, scale, out, out_stride, scores, lse);
}

}  // namespace

// The largest value in one pass (max_ps(x, m) returns m where x is NaN: NaNs never win), then
// the first position holding it, 16 comparisons at a time. x[0] is a number, so one does.
int64_t argmax_avx512(const float* x, int64_t n) {
  __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
    m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    m0 = _mm512_mask_max_ps(m0, m, _mm512_maskz_loadu_ps(m, x + i), m0);
  }
  const __m512 largest = _mm512_set1_ps(_mm512_reduce_max_ps(_mm512_max_ps(m0, m1)));
  for (i = 0;; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __mmask16 hit = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, x + i), largest, _CMP_EQ_OQ);
    if (hit) return i + __builtin_ctz(hit);
  }
}

void round_to_f16_avx512(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(y + i, m, h);
  }
}

const VectorOps& avx512_vector_ops() {
  static const VectorOps ops{dot_avx512,     axpy_avx512,    rms_norm_avx512,         gelu_tanh_mul_avx512,
                             softcap_avx512, softmax_avx512, attend_heads_avx512,     attend_heads_f16_avx512,
                             argmax_avx512,  rms_norm_rows_avx512, round_to_f16_avx512};
  return ops;
}

}  // namespace gemma4::kernels::detail
