// A linear layer whose input and output are clamped to bounds stored in the checkpoint
// (Gemma 4's vision and audio towers), with an optional packed copy of its weight for the
// bf16 GEMM. One definition for both towers: two different structs of the same name in one
// namespace would break the one-definition rule.
#pragma once
#include <limits>
#include <vector>

#include "kernels/gemm.h"
#include "tensor/weight.h"

namespace gemma4 {

struct ClippedLinear {
  Weight weight;
  float input_min = -std::numeric_limits<float>::infinity(), input_max = std::numeric_limits<float>::infinity();
  float output_min = -std::numeric_limits<float>::infinity(), output_max = std::numeric_limits<float>::infinity();
  kernels::PackedBf16 packed;  // filled for fast numerics (pack()); empty: kernels::matmul on `weight`

  void pack() { packed = kernels::pack_bf16(weight); }
  bool is_packed() const { return packed.rows > 0; }
};

// How an encoder computes:
//   exact: float32 activations and products throughout (the reference; matches the goldens);
//   fast:  linears and attention products on the packed bf16 GEMM (activations rounded to
//          bf16, float32 sums), vectorized activations and softmax. See kernels/gemm.h.
enum class EncoderNumerics { exact, fast };

// y[n, out] = clamp(clamp(x, input bounds) · Wᵀ, output bounds), packed GEMM when packed.
std::vector<float> apply(const ClippedLinear& l, const std::vector<float>& x, int64_t n);
// y = x · Wᵀ without the bounds (x[n, cols], y[n, rows]).
void apply_unclipped(const ClippedLinear& l, const float* x, int64_t n, float* y);

}  // namespace gemma4
