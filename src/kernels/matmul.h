// Matrix products against weights: the one entry point the model code calls.
//
// matmul() picks a kernel by weight format and the active ISA (kernels/isa.h) and spreads
// output rows over the thread pool (base/thread_pool.h). Numerics per format:
//   f32, bf16, f16: exact float32 products, float32 accumulation (the reference path;
//                   only the summation order differs from matmul_reference).
//   q8_0, q4_0:     activations are quantized per 32-block to int8 with a float32 scale
//                   (like GGML's Q8 activations); block dot products are exact integers,
//                   scaled and summed in float32.
#pragma once
#include <cstdint>

#include "tensor/weight.h"

namespace gemma4::kernels {

// y[n, w.rows] = x[n, w.cols] · wᵀ   (x, y row-major float32; PyTorch Linear without bias).
// n = 1 is the decode case (matrix-vector); larger n is prefill / encoders / batched decode.
void matmul(const Weight& w, const float* x, int64_t n, float* y);

// Several products of the same input: targets[i].y = x · targets[i].wᵀ, all weights with
// x's width. The same results as one matmul per target, but the activations are quantized
// once and all rows share one pass of the thread pool (q/k/v, gate/up: fewer hand-offs per
// decoded token).
struct MatmulTarget {
  const Weight* w;
  float* y;
};
void matmul_shared_input(const float* x, int64_t n, const MatmulTarget* targets, int count);

// How bf16 weights meet batches of at least kBf16FastMinTokens tokens (prefill, encoders):
//   exact: float32 activations, float32 products (the reference numerics; the default, so
//          the golden tests hold);
//   fast:  activations rounded to bf16 and AVX512-BF16 dot products (float32 sums), about
//          twice the arithmetic rate; relative error ~2^-9 per activation. Where the CPU has
//          no AVX512-BF16 this is the same as exact.
enum class Bf16Mode { exact, fast };
void set_bf16_mode(Bf16Mode mode);
Bf16Mode bf16_mode();
constexpr int64_t kBf16FastMinTokens = 8;

// Row `row` of w as float32 (embedding lookups): out[w.cols].
void dequantize_row(const Weight& w, int64_t row, float* out);

// The plain scalar reference: dequantize each row to float32, float32 dot products with the
// unquantized activations. Every fast kernel is tested against it.
void matmul_reference(const Weight& w, const float* x, int64_t n, float* y);
void dequantize_row_reference(const Weight& w, int64_t row, float* out);

// The layout to quantize a `rows` × `cols` float matrix to when the user asks for `requested`
// (bf16 | q8_0 | q4_0), the one the active ISA multiplies fastest: q4_0 -> q4s (AVX-512, the
// leaner 4-bit layout) or q4r, q8_0 -> q8i (AVX-512); a shape the block formats cannot hold
// stays bf16 (the stored format).
WeightFormat runtime_format(WeightFormat requested, int64_t rows, int64_t cols);

// The lossless layout for weights already stored in a block format (GGUF Q4_0 / Q8_0): the
// same numbers repacked: q4_0 -> q4i (AVX-512) or q4r, q8_0 -> q8i (AVX-512).
WeightFormat repacked_format(WeightFormat stored, int64_t rows, int64_t cols);

// Converts a weight (f32 / bf16 / f16) to `target` (any format), multi-threaded. The result
// owns its storage. Block formats need cols % 32 == 0 (else gemma4::Error).
Weight convert_weight(const Weight& w, WeightFormat target);

}  // namespace gemma4::kernels
