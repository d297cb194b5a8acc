// Matrix products against weights: the one entry point the model code calls.
#pragma once
#include <cstdint>

#include "tensor/weight.h"

namespace gemma4::kernels {

// y[n, w.rows] = x[n, w.cols] · wᵀ   (x, y row-major float32; PyTorch Linear without bias).
// n = 1 is the decode case (matrix-vector); larger n is prefill / encoders / batched decode.
void matmul(const Weight& w, const float* x, int64_t n, float* y);

// Row `row` of w as float32 (embedding lookups): out[w.cols].
void dequantize_row(const Weight& w, int64_t row, float* out);

}  // namespace gemma4::kernels
