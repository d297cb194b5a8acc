// A linear layer whose input and output are clamped to bounds stored in the checkpoint
// (Gemma 4's vision and audio towers), with an optional packed copy of its weight for the
// int8 (VNNI) or bf16 GEMM. One definition for both towers: two different structs of the same
// name in one namespace would break the one-definition rule.
#pragma once
#include <initializer_list>
#include <limits>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_int8.h"
#include "tensor/weight.h"

namespace gemma4 {

// How an encoder computes:
//   exact: float32 activations and products throughout (the reference; matches the goldens);
//   fast:  linears and attention products on the packed bf16 GEMM (activations rounded to
//          bf16, float32 sums; kernels/gemm.h), vectorized activations, softmax and norms;
//   int8:  as fast, but the linears on the packed int8 GEMM (weights per output feature,
//          activations per row, exact integer sums; kernels/gemm_int8.h) where the CPU has
//          AVX512-VNNI (else as fast); the vision tower's attention products too
//          (kernels::attention_bidirectional_int8). About 2x faster linears; its error is a few times
//          bf16's (tests/model/test_*_fast.cpp measure it), so it is a choice, not the default.
enum class EncoderNumerics { exact, fast, int8 };

struct ClippedLinear {
  Weight weight;
  float input_min = -std::numeric_limits<float>::infinity(), input_max = std::numeric_limits<float>::infinity();
  float output_min = -std::numeric_limits<float>::infinity(), output_max = std::numeric_limits<float>::infinity();
  // Filled for fast numerics (pack()); both empty: kernels::matmul on `weight`.
  kernels::PackedInt8 packed_int8;
  kernels::PackedBf16 packed;

  // For fast numerics: bf16 (kernels/gemm.h); for int8 numerics: int8 where the CPU has
  // VNNI (kernels/gemm_int8.h), else bf16.
  void pack(EncoderNumerics numerics);
  // bf16 whatever the CPU: for the few small products whose accuracy is worth more than speed.
  void pack_bf16() { packed = kernels::pack_bf16(weight); }
  bool is_packed() const { return packed.rows > 0 || packed_int8.rows > 0; }
};


// y[n, out] = clamp(clamp(x, input bounds) · Wᵀ, output bounds), packed GEMM when packed.
std::vector<float> apply(const ClippedLinear& l, const std::vector<float>& x, int64_t n);
// The same into y (n × rows floats; must not overlap x), then `act` on every output: fused into
// the packed GEMMs, a separate kernels::silu pass otherwise (same numbers either way).
void apply(const ClippedLinear& l, const float* x, int64_t n, float* y,
           kernels::Activation act = kernels::Activation::none);
// Several linears of the same input x (q/k/v of one layer), each into its y. Where all are int8
// with equal input bounds, x is quantized once and all run in one pass of the pool
// (kernels::gemm_int8_shared_input); otherwise apply() runs each. The same numbers either way.
struct LinearOutput {
  const ClippedLinear* linear;
  float* y;
};
void apply_shared_input(const float* x, int64_t n, std::initializer_list<LinearOutput> outputs);
// GeGLU: y = gelu_tanh(apply(gate, x)) · apply(up, x), the product as kernels::gelu_tanh_mul
// makes it. Fused into one int8 pass where both are int8 with equal input bounds
// (kernels::gemm_int8_geglu); otherwise `scratch` (n × rows floats) holds the up projection.
// The same numbers either way.
void apply_geglu(const ClippedLinear& gate, const ClippedLinear& up, const float* x, int64_t n, float* y,
                 float* scratch);
// y = x · Wᵀ without the bounds (x[n, cols], y[n, rows]).
void apply_unclipped(const ClippedLinear& l, const float* x, int64_t n, float* y);

}  // namespace gemma4
