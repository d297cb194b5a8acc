// Internals shared by gemm.cpp and its per-ISA micro-kernels.
#pragma once
#include <cstdint>

namespace gemma4::kernels::detail {

// Rounds x[n][cols] (row stride x_stride floats) to bf16 pairs: out[t * k_pairs + c / 2],
// zero-padding an odd last column.
using RoundPairsFn = void (*)(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_pairs,
                              uint32_t* out);

// For rows t in [0, m) of a (bf16 pairs, stride k_pairs) against one packed panel:
// y[t * y_stride + j] = Σ_c a[t][c] · panel[c][j] for j < cols_valid (≤ 32).
using PanelFn = void (*)(const uint32_t* a, int64_t m, int64_t k_pairs, const uint32_t* panel, float* y,
                         int64_t y_stride, int cols_valid);

void round_pairs_scalar(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_pairs, uint32_t* out);
void panel_scalar(const uint32_t* a, int64_t m, int64_t k_pairs, const uint32_t* panel, float* y, int64_t y_stride,
                  int cols_valid);
void round_pairs_avx512(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_pairs, uint32_t* out);
void panel_avx512(const uint32_t* a, int64_t m, int64_t k_pairs, const uint32_t* panel, float* y, int64_t y_stride,
                  int cols_valid);

}  // namespace gemma4::kernels::detail
