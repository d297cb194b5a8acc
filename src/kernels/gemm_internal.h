// Internals shared by the packed GEMMs (gemm.cpp: bf16, gemm_int8.cpp: int8) and their per-ISA
// micro-kernels.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/gemm_int8.h"  // Activation
#include "kernels/matmul.h"
#include "tensor/weight.h"

namespace gemma4::kernels::detail {

// Packs every row of w (any format, dequantized to float32 first) with pack_row(row, r),
// rows spread over the thread pool.
template <class PackRow>
void pack_weight_rows(const Weight& w, const PackRow& pack_row) {
  parallel_ranges(w.rows, 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(w.cols));
    for (int64_t r = r0; r < r1; ++r) {
      dequantize_row(w, r, row.data());
      pack_row(row.data(), r);
    }
  });
}

// Rows of activations per task: a multiple of the 12-row register tile, enough to amortize a
// panel's trip through L1/L2, few enough that a chunk's activations stay in L2.
constexpr int64_t kGemmRowChunk = 96;
constexpr int64_t kGemmPanelsPerTask = 4;

// Runs fn(t0, m, p) for each chunk [t0, t0 + m) of n activation rows and each of `panels`
// weight panels, as tasks of one chunk × kGemmPanelsPerTask panels over the thread pool.
// Panel groups vary fastest, so tasks running at the same time share activation rows in L3.
template <class Fn>
void for_each_panel_task(int64_t n, int64_t panels, const Fn& fn) {
  const int64_t row_chunks = (n + kGemmRowChunk - 1) / kGemmRowChunk;
  const int64_t panel_groups = (panels + kGemmPanelsPerTask - 1) / kGemmPanelsPerTask;
  parallel_for(row_chunks * panel_groups, [&](int64_t task) {
    const int64_t t0 = (task / panel_groups) * kGemmRowChunk, m = std::min(kGemmRowChunk, n - t0);
    const int64_t p0 = (task % panel_groups) * kGemmPanelsPerTask;
    for (int64_t p = p0; p < std::min(panels, p0 + kGemmPanelsPerTask); ++p) fn(t0, m, p);
  });
}

// Rounds clamp(x[n][cols], lo, hi) (row stride x_stride floats) to bf16 pairs:
// out[t * out_stride + c / 2], zero-padding an odd last column.
using RoundPairsFn = void (*)(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_pairs, float lo,
                              float hi, uint32_t* out, int64_t out_stride);

// For rows t in [0, m) of a (bf16 pairs, rows a_stride pairs apart) against one packed panel:
// y[t * y_stride + j] = clamp(Σ_c a[t][c] · panel[c][j], lo, hi) for j < cols_valid (≤ 32).
// With act = silu each stored value is then silu(value) (gemm_int8.h's Activation).
using PanelFn = void (*)(const uint32_t* a, int64_t a_stride, int64_t m, int64_t k_pairs, const uint32_t* panel,
                         float* y, int64_t y_stride, int cols_valid, float lo, float hi, Activation act);

// Distance of two rows of packed activations, in 4-byte units (`units` of data per row): rounded
// up to a cache line, plus one line, so that it is never a multiple of 4 KiB. The 12 rows a
// micro-kernel tile reads in step would otherwise share one L1 set (at K = 4096 int8 or
// K = 2048 bf16, every row 4 KiB apart), more lines than its ways hold: a third slower.
inline int64_t packed_row_stride(int64_t units) { return (units + 15) / 16 * 16 + 16; }

void round_pairs_scalar(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_pairs, float lo,
                        float hi, uint32_t* out, int64_t out_stride);
void panel_scalar(const uint32_t* a, int64_t a_stride, int64_t m, int64_t k_pairs, const uint32_t* panel, float* y,
                  int64_t y_stride, int cols_valid, float lo, float hi, Activation act);
void round_pairs_avx512(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_pairs, float lo,
                        float hi, uint32_t* out, int64_t out_stride);
void panel_avx512(const uint32_t* a, int64_t a_stride, int64_t m, int64_t k_pairs, const uint32_t* panel, float* y,
                  int64_t y_stride, int cols_valid, float lo, float hi, Activation act);

}  // namespace gemma4::kernels::detail
