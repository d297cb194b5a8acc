// Plain float32 building blocks of transformer decoders (norms, activations, rotary
// embeddings, softmax). Readable reference code; nothing here knows about a specific model.
#pragma once
#include <cstdint>

namespace gemma4::kernels {

// y = x / sqrt(mean(x²) + eps) · w   (w may be nullptr: no scale). In place allowed (y == x).
void rms_norm(const float* x, const float* w, int64_t n, double eps, float* y);

// gelu with the tanh approximation (PyTorch's gelu(approximate="tanh")), in place.
float gelu_tanh(float x);
void gelu_tanh_inplace(float* x, int64_t n);

// x ← cap · tanh(x / cap), in place.
void softcap_inplace(float* x, int64_t n, float cap);

// Rotate-half (NeoX) rotary embedding of one head vector x[dim] in place, with angles
// position · inv_freq[i] for i < dim/2 (a zero frequency leaves its pair unchanged).
void rope_rotate_half(float* x, int64_t dim, const float* inv_freq, int64_t position);

// The same rotation split in two steps, so the angles of one position are computed once for
// all heads: cos/sin[dim/2] of position · inv_freq (a zero frequency gives cos 1, sin 0, an
// exact no-op), then the rotation of one head vector.
void rope_angles(int64_t dim, const float* inv_freq, int64_t position, float* cos_out, float* sin_out);
void rope_apply(float* x, int64_t dim, const float* cos, const float* sin);

// Softmax in place with max subtraction.
void softmax_inplace(float* x, int64_t n);

}  // namespace gemma4::kernels
