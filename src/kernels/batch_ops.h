// Element-wise ops over whole encoder batches, vectorized and spread over the thread pool.
#pragma once
#include <cmath>
#include <cstdint>

namespace gemma4::kernels {

// GeGLU's gelu_tanh(gate) · up is kernels::gelu_tanh_mul in kernels/vector_ops.h.

// x[i] = x[i] · σ(x[i]) (SiLU / swish) for i < n.
void silu(float* x, int64_t n);
// The formula of every scalar path (silu above without AVX-512, the GEMMs' activation).
inline float silu_scalar(float x) { return x / (1.f + std::exp(-x)); }

// Gated linear unit over rows: out[t][i] = in[t][i] · σ(in[t][width + i]) for t < rows,
// i < width (in is [rows][2·width], out [rows][width]).
void glu_sigmoid(const float* in, int64_t rows, int64_t width, float* out);

// LayerNorm without bias, then ReLU, of each row in place: x = max((x − mean)/sqrt(var + eps) · g, 0)
// over rows of `width` values. Float32 sums (the reference computes in double: this differs by
// float32 rounding); runs on the calling thread (callers hand it a few rows at a time).
void layer_norm_relu_rows(float* x, int64_t rows, int64_t width, const float* g, float eps);

// Row helpers for encoder passes that already run on the pool (they run on the calling thread).
// Each gives exactly the plain loop's numbers on every ISA: products are rounded before the
// sum (no fused multiply-add), so the exact numerics may use them too.
// y[i] = clamp(x[i], lo, hi) (y may be x).
void clamp_copy(const float* x, float* y, int64_t n, float lo, float hi);
// x[i] += scale · h[i].
void add_scaled(float* x, const float* h, float scale, int64_t n);
// out[i] += a[i] · b[i].
void multiply_add(float* out, const float* a, const float* b, int64_t n);

// Rotate-half RoPE of `count` vectors of `dim` floats at x + v·dim (dim even, h = dim/2):
//   x[i], x[i + h] ← x[i]·cos[i] − x[i + h]·sin[i], x[i + h]·cos[i] + x[i]·sin[i]   (i < h)
// with vector v's angles at cos/sin + (v % sets)·h: sets = 1 rotates every vector alike, 2-D
// RoPE (one angle set per image axis) passes 2. Exactly reference_ops' rope_apply per vector.
void rope_apply_vectors(float* x, int64_t count, int64_t dim, int64_t sets, const float* cos, const float* sin);

}  // namespace gemma4::kernels
