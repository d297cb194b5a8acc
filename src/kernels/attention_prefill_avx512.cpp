// AVX-512 blocked prefill attention (attention_prefill.h). Queries are laid out transposed,
// qt[d][i] for query i = row · heads + head, so that a 16-lane register holds 16 queries:
// S[j][i] = Σ_d k[j][d] · qt[d][i] broadcasts one key value against 32 queries, and
// O[d][i] = Σ_j v[j][d] · P[j][i] one value against 32 weights: the same 12 × 32 register tile
// (24 accumulators) serves both products. Keys and values are widened from f16 a tile at a time.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC bug 105593, see matmul_avx512.cpp
#endif
#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "kernels/attention_prefill.h"
#include "kernels/vec_math_avx512.h"

namespace gemma4::kernels::detail {
namespace {

constexpr int kTileRows = 12;        // rows of C per register tile (broadcast operand)
constexpr int64_t kLanes = 32;       // columns of C per register tile (two registers of queries)
constexpr int64_t kKeyTile = 64;     // keys / values widened to float32 at a time
// Scores of one block are kept whole (keys × padded queries); beyond this the row-by-row kernel.
constexpr int64_t kMaxScores = int64_t{1} << 22;

// c[m][0..31] (+)= Σ_k a[m·a_m + k·a_k] · b[k·b_k + 0..31] for m < M.
template <int M>
void tile(const float* a, int64_t a_m, int64_t a_k, const float* b, int64_t b_k, int64_t depth, float* c,
          int64_t c_m, bool accumulate) {
  __m512 acc0[M], acc1[M];
#pragma GCC unroll 12
  for (int m = 0; m < M; ++m) {
    acc0[m] = accumulate ? _mm512_loadu_ps(c + m * c_m) : _mm512_setzero_ps();
    acc1[m] = accumulate ? _mm512_loadu_ps(c + m * c_m + 16) : _mm512_setzero_ps();
  }
  for (int64_t k = 0; k < depth; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b + k * b_k), b1 = _mm512_loadu_ps(b + k * b_k + 16);
#pragma GCC unroll 12
    for (int m = 0; m < M; ++m) {
      const __m512 am = _mm512_set1_ps(a[m * a_m + k * a_k]);
      acc0[m] = _mm512_fmadd_ps(am, b0, acc0[m]);
      acc1[m] = _mm512_fmadd_ps(am, b1, acc1[m]);
    }
  }
#pragma GCC unroll 12
  for (int m = 0; m < M; ++m) {
    _mm512_storeu_ps(c + m * c_m, acc0[m]);
    _mm512_storeu_ps(c + m * c_m + 16, acc1[m]);
  }
}

using TileFn = void (*)(const float*, int64_t, int64_t, const float*, int64_t, int64_t, float*, int64_t, bool);
constexpr TileFn kTiles[kTileRows + 1] = {nullptr,  tile<1>, tile<2>, tile<3>,  tile<4>,  tile<5>, tile<6>,
                                          tile<7>,  tile<8>, tile<9>, tile<10>, tile<11>, tile<12>};

// c[m][i] (+)= Σ_k a(m, k) · b[k][i] for m < rows, i < columns (a multiple of 32).
void small_gemm(const float* a, int64_t a_m, int64_t a_k, const float* b, int64_t b_k, int64_t depth, float* c,
                int64_t c_m, int64_t rows, int64_t columns, bool accumulate) {
  for (int64_t m0 = 0; m0 < rows; m0 += kTileRows) {
    const int64_t m = std::min<int64_t>(kTileRows, rows - m0);
    for (int64_t i0 = 0; i0 < columns; i0 += kLanes)
      kTiles[m](a + m0 * a_m, a_m, a_k, b + i0, b_k, depth, c + m0 * c_m + i0, c_m, accumulate);
  }
}

// rows[t] (dim f16 values) widened into out[t · dim ..] for t < n; dim is a multiple of 16.
void widen_rows(const uint16_t* const* rows, int64_t n, int64_t dim, float* out) {
  for (int64_t t = 0; t < n; ++t)
    for (int64_t d = 0; d < dim; d += 16)
      _mm512_storeu_ps(out + t * dim + d,
                       _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[t] + d))));
}

}  // namespace

bool attend_prefill_block_f16_avx512(const PrefillAttentionBlock& b) {
  const int64_t nq = b.rows * b.heads, dim = b.dim;
  const int64_t np = (nq + kLanes - 1) / kLanes * kLanes;  // queries padded to whole tiles
  int64_t k0 = b.count, k1 = 0;
  for (int64_t r = 0; r < b.rows; ++r) {
    k0 = std::min(k0, b.first[r]);
    k1 = std::max(k1, b.end[r]);
  }
  const int64_t nk = k1 - k0;
  if (dim % 16 != 0 || nq > kPrefillBlockQueries || nk <= 0 || nk * np > kMaxScores) return false;

  thread_local std::vector<float> qt, rows, s, o;
  thread_local std::vector<int32_t> lo, hi;
  thread_local std::vector<float> inv_sum;
  qt.assign(static_cast<size_t>(dim * np), 0.f);
  lo.assign(static_cast<size_t>(np), 0);
  hi.assign(static_cast<size_t>(np), 0);  // padding queries see no key
  for (int64_t i = 0; i < nq; ++i) {
    const int64_t r = i / b.heads, g = i % b.heads;
    const float* src = b.q + r * b.q_stride + g * dim;
    for (int64_t d = 0; d < dim; ++d) qt[d * np + i] = b.scale * src[d];
    lo[i] = static_cast<int32_t>(b.first[r] - k0);
    hi[i] = static_cast<int32_t>(b.end[r] - k0);
  }

  // Scores S[j][i] for every key of the block's range.
  s.resize(static_cast<size_t>(nk * np));
  rows.resize(static_cast<size_t>(kKeyTile * dim));
  for (int64_t j0 = 0; j0 < nk; j0 += kKeyTile) {
    const int64_t n = std::min(kKeyTile, nk - j0);
    widen_rows(b.keys + k0 + j0, n, dim, rows.data());
    small_gemm(rows.data(), dim, 1, qt.data(), np, dim, s.data() + j0 * np, np, n, np, false);
  }

  // Softmax of each query over its visible keys, 16 queries at a time; hidden keys get 0.
  inv_sum.resize(static_cast<size_t>(np));
  for (int64_t i0 = 0; i0 < np; i0 += 16) {
    const __m512i vlo = _mm512_loadu_si512(lo.data() + i0), vhi = _mm512_loadu_si512(hi.data() + i0);
    auto visible = [&](int64_t j) {
      const __m512i vj = _mm512_set1_epi32(static_cast<int32_t>(j));
      return _mm512_cmpge_epi32_mask(vj, vlo) & _mm512_cmplt_epi32_mask(vj, vhi);
    };
    __m512 mx = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    for (int64_t j = 0; j < nk; ++j) mx = _mm512_mask_max_ps(mx, visible(j), mx, _mm512_loadu_ps(s.data() + j * np + i0));
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < nk; ++j) {
      float* sj = s.data() + j * np + i0;
      const __mmask16 m = visible(j);
      const __m512 e = _mm512_maskz_mov_ps(m, exp512(_mm512_maskz_sub_ps(m, _mm512_loadu_ps(sj), mx)));
      _mm512_storeu_ps(sj, e);
      sum = _mm512_add_ps(sum, e);
    }
    const __mmask16 seen = _mm512_cmp_ps_mask(sum, _mm512_setzero_ps(), _CMP_GT_OQ);
    _mm512_storeu_ps(inv_sum.data() + i0, _mm512_maskz_div_ps(seen, _mm512_set1_ps(1.f), sum));
  }

  // O[d][i] = Σ_j v[j][d] · P[j][i], value tiles accumulated.
  o.assign(static_cast<size_t>(dim * np), 0.f);
  for (int64_t j0 = 0; j0 < nk; j0 += kKeyTile) {
    const int64_t n = std::min(kKeyTile, nk - j0);
    widen_rows(b.values + k0 + j0, n, dim, rows.data());
    small_gemm(rows.data(), 1, dim, s.data() + j0 * np, np, n, o.data(), np, dim, np, true);
  }
  for (int64_t i = 0; i < nq; ++i) {
    const int64_t r = i / b.heads, g = i % b.heads;
    float* dst = b.out + r * b.out_stride + g * dim;
    for (int64_t d = 0; d < dim; ++d) dst[d] = o[d * np + i] * inv_sum[i];
  }
  return true;
}

}  // namespace gemma4::kernels::detail
