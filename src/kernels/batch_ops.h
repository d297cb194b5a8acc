// Element-wise ops over whole encoder batches, vectorized and spread over the thread pool.
#pragma once
#include <cstdint>

namespace gemma4::kernels {

// GeGLU's gelu_tanh(gate) · up is kernels::gelu_tanh_mul in kernels/vector_ops.h.

// x[i] = x[i] · σ(x[i]) (SiLU / swish) for i < n.
void silu(float* x, int64_t n);

// Gated linear unit over rows: out[t][i] = in[t][i] · σ(in[t][width + i]) for t < rows,
// i < width (in is [rows][2·width], out [rows][width]).
void glu_sigmoid(const float* in, int64_t rows, int64_t width, float* out);

}  // namespace gemma4::kernels
