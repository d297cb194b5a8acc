// Element-wise ops over whole encoder batches, vectorized and spread over the thread pool.
#pragma once
#include <cstdint>

namespace gemma4::kernels {

// gate[i] = gelu_tanh(gate[i]) · up[i] for i < n (GeGLU), with
// gelu_tanh(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))) evaluated as x·σ(2u) (same function;
// float32 rounding differs from std::tanh by a few ulp).
void gelu_tanh_mul(float* gate, const float* up, int64_t n);

// x[i] = x[i] · σ(x[i]) (SiLU / swish) for i < n.
void silu(float* x, int64_t n);

// Gated linear unit over rows: out[t][i] = in[t][i] · σ(in[t][width + i]) for t < rows,
// i < width (in is [rows][2·width], out [rows][width]).
void glu_sigmoid(const float* in, int64_t rows, int64_t width, float* out);

}  // namespace gemma4::kernels
