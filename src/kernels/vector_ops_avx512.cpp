// AVX-512 vector ops: 16 floats per step, masked tails for any length.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see matmul_avx512.cpp
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include <cmath>

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
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void rms_norm_avx512(const float* x, const float* w, int64_t n, double eps, float* y) {
  __m512 s = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    s = _mm512_fmadd_ps(v, v, s);
  }
  const double mean = static_cast<double>(_mm512_reduce_add_ps(s)) / static_cast<double>(n);
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / std::sqrt(mean + eps)));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv);
    if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i));
    _mm512_mask_storeu_ps(y + i, m, v);
  }
}

void gelu_tanh_mul_avx512(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(g + i, m, gelu_tanh_mul16(_mm512_maskz_loadu_ps(m, g + i), _mm512_maskz_loadu_ps(m, u + i)));
  }
}

void softcap_avx512(float* x, int64_t n, float cap) {
  const __m512 vcap = _mm512_set1_ps(cap), inv = _mm512_set1_ps(1.f / cap);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(vcap, tanh_ps(_mm512_mul_ps(v, inv))));
  }
}

void softmax_avx512(float* x, int64_t n) {
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
    _mm512_mask_storeu_ps(x + i, m, e);
  }
  const __m512 inv = _mm512_set1_ps(1.f / _mm512_reduce_add_ps(sum));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
  }
}

// Sums of 8 vectors, one per lane of the result (a transpose-and-add tree: 24 operations
// instead of 8 full reductions).
inline __m256 reduce8(const __m512 (&v)[8]) {
  __m512 x[4];
  for (int i = 0; i < 4; ++i)  // 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3]
    x[i] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_ps(v[2 * i], v[2 * i + 1]));
  __m512 y[2];
  for (int i = 0; i < 2; ++i) {  // 128-bit lane: partial sums of 4 vectors
    const __m512d a = _mm512_castps_pd(x[2 * i]), b = _mm512_castps_pd(x[2 * i + 1]);
    y[i] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(a, b)), _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)));
  }
  // Lanes [y0.0+y0.1, y0.2+y0.3, y1.0+y1.1, y1.2+y1.3], then the two halves of each vector.
  const __m512 z = _mm512_add_ps(_mm512_shuffle_f32x4(y[0], y[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                 _mm512_shuffle_f32x4(y[0], y[1], _MM_SHUFFLE(3, 1, 3, 1)));
  const __m512 w = _mm512_add_ps(z, _mm512_shuffle_f32x4(z, z, _MM_SHUFFLE(2, 3, 0, 1)));
  // w's lanes 0 and 2 hold vectors 0-3 and 4-7.
  return _mm512_castps512_ps256(_mm512_shuffle_f32x4(w, w, _MM_SHUFFLE(2, 0, 2, 0)));
}

// 16 consecutive K/V values as floats: float32 rows as they are, IEEE half rows widened
// (exactly: every f16 is a float32) by vcvtph2ps.
inline __m512 load16(const float* p) { return _mm512_loadu_ps(p); }
inline __m512 load16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
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

// G query heads against the same keys and values (float32 or IEEE half rows); dim % 16 == 0.
template <int G, typename T>
void attend_heads_g(const float* q, int64_t q_stride, const T* const* keys, const T* const* values, int64_t count,
                    int64_t dim, float scale, float* out, int64_t out_stride, float* scores) {
  constexpr int64_t kPerLine = 64 / sizeof(T);  // row values per cache line
  // Scores: each key row is loaded once for the G queries.
  for (int64_t j = 0; j < count; ++j) {
    __m512 acc[8];
    for (int g = 0; g < 8; ++g) acc[g] = _mm512_setzero_ps();
    const T* k = keys[j];
    // The value pass below reads 16 columns of every row at a time, a pattern the hardware
    // prefetchers do not follow (each row's lines missed the caches one by one); reading the
    // rows in while the keys are scored puts them in L2 at the pace of this loop.
    for (int64_t d = 0; d < dim; d += kPerLine) _mm_prefetch(reinterpret_cast<const char*>(values[j] + d), _MM_HINT_T1);
    for (int64_t d = 0; d < dim; d += 16) {
      const __m512 kv = load16(k + d);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) acc[g] = _mm512_fmadd_ps(_mm512_loadu_ps(q + g * q_stride + d), kv, acc[g]);
    }
    if constexpr (G == 8) {
      float dots[8];
      _mm256_storeu_ps(dots, _mm256_mul_ps(reduce8(acc), _mm256_set1_ps(scale)));
      for (int g = 0; g < 8; ++g) scores[g * count + j] = dots[g];
    } else {
      for (int g = 0; g < G; ++g) scores[g * count + j] = scale * _mm512_reduce_add_ps(acc[g]);
    }
  }
  for (int g = 0; g < G; ++g) softmax_avx512(scores + g * count, count);
  // Outputs, kSlices × 16 columns at a time: each value row slice is loaded once for the G
  // heads, each broadcast score serves kSlices slices (the rows are in L2 by now).
  constexpr int kSlices = G >= 5 ? 2 : G >= 3 ? 4 : 8;  // G · kSlices accumulators <= 16
  int64_t d = 0;
  for (; d + 16 * kSlices <= dim; d += 16 * kSlices)
    weigh_values<G, kSlices>(values, scores, count, d, out, out_stride);
  for (; d < dim; d += 16) weigh_values<G, 1>(values, scores, count, d, out, out_stride);
}

// attend_heads_g for 1..8 heads.
template <typename T>
void attend_heads_any(const float* q, int64_t q_stride, int heads, const T* const* keys, const T* const* values,
                      int64_t count, int64_t dim, float scale, float* out, int64_t out_stride, float* scores) {
  switch (heads) {
    case 8: return attend_heads_g<8>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores);
    case 7: return attend_heads_g<7>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores);
    case 6: return attend_heads_g<6>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores);
    case 5: return attend_heads_g<5>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores);
    case 4: return attend_heads_g<4>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores);
    case 3: return attend_heads_g<3>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores);
    case 2: return attend_heads_g<2>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores);
    default: return attend_heads_g<1>(q, q_stride, keys, values, count, dim, scale, out, out_stride, scores);
  }
}

void attend_heads_avx512(const float* q, int64_t q_stride, int heads, const float* const* keys,
                         const float* const* values, int64_t count, int64_t dim, float scale, float* out,
                         int64_t out_stride, float* scores) {
  attend_heads_any(q, q_stride, heads, keys, values, count, dim, scale, out, out_stride, scores);
}

void attend_heads_f16_avx512(const float* q, int64_t q_stride, int heads, const uint16_t* const* keys,
                              const uint16_t* const* values, int64_t count, int64_t dim, float scale, float* out,
                              int64_t out_stride, float* scores) {
  attend_heads_any(q, q_stride, heads, keys, values, count, dim, scale, out, out_stride, scores);
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
                             argmax_avx512,       round_to_f16_avx512};
  return ops;
}

}  // namespace gemma4::kernels::detail
