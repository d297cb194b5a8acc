// Packed bf16 GEMM for large batches (vision / audio encoders, long prefills).
//
// kernels::matmul streams weight rows against a few tokens at a time, which is right for
// decode (memory-bound) but leaves a large batch far from the arithmetic peak. Here weights are
// packed once, at load, into panels of kGemmPanel output features whose bf16 values are
// interleaved in pairs along the input dimension, the layout AVX512-BF16's vdpbf16ps reads:
// one 512-bit load gives 16 outputs × 2 inputs. Activations are rounded to bf16 per call;
// products are exact, sums are float32. Numerics: relative error ~2^-9 per activation and per
// weight (bf16 rounding), the same as Bf16Mode::fast.
//
// Without AVX512-BF16 the same packed numbers are multiplied by a plain C++ loop (slow, the
// same numerics up to summation order), so every caller works on every CPU.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kernels/gemm_int8.h"  // Clamp
#include "tensor/weight.h"

namespace gemma4::kernels {

constexpr int64_t kGemmPanel = 32;  // output features per packed panel

// A weight [rows, cols] (y = x·Wᵀ) packed for gemm(). Element (r, c) lives in panel r / 32,
// pair c / 2, at pairs[(panel * k_pairs + c / 2) * 32 + r % 32], half c % 2 (low = even c).
// Rows past `rows` and an odd last column are zero.
struct PackedBf16 {
  int64_t rows = 0, cols = 0;
  int64_t k_pairs = 0;   // (cols + 1) / 2
  int64_t panels = 0;    // ceil(rows / 32)
  std::vector<uint32_t> pairs;
  std::string name;
};

// Packs any weight format (dequantized to float32 first, then rounded to bf16; bf16 weights
// are copied exactly). Multi-threaded.
PackedBf16 pack_bf16(const Weight& w);
// Packs a float32 row-major matrix m[rows][cols] with rows `row_stride` floats apart.
// Single-threaded (callers pack many small matrices in parallel, e.g. one per attention head).
void pack_bf16(const float* m, int64_t rows, int64_t cols, int64_t row_stride, PackedBf16& out);

// y[n, w.rows] = x[n, w.cols] · wᵀ with x rounded to bf16. Spread over the thread pool.
void gemm(const PackedBf16& w, const float* x, int64_t n, float* y);
// y = act(clamp_out(clamp_in(x) · wᵀ)): the clamps ride on the rounding of x and the stores of y
// (no extra pass over either), and so does the activation (gemm_int8.h). x and y must not overlap.
void gemm(const PackedBf16& w, const float* x, int64_t n, float* y, Clamp in, Clamp out,
          Activation act = Activation::none);

// The same product on the calling thread only, with explicit row strides (in floats), for
// callers that parallelize at a coarser level (attention heads).
void gemm_serial(const PackedBf16& w, const float* x, int64_t x_stride, int64_t n, float* y, int64_t y_stride);

}  // namespace gemma4::kernels
