// Element-wise ops over whole encoder batches, vectorized and spread over the thread pool.
#pragma once
#include <cstdint>

namespace gemma4::kernels {

// gate[i] = gelu_tanh(gate[i]) · up[i] for i < n (GeGLU), with
// gelu_tanh(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))) evaluated as x·σ(2u) (same function;
// float32 rounding differs from std::tanh by a few ulp).
void gelu_tanh_mul(float* gate, const float* up, int64_t n);

}  // namespace gemma4::kernels
