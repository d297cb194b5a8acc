#include "kernels/reference_ops.h"

#include <algorithm>
#include <cmath>

namespace gemma4::kernels {

void rms_norm(const float* x, const float* w, int64_t n, double eps, float* y) {
  double sum_sq = 0.0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float inv = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = w ? x[i] * inv * w[i] : x[i] * inv;
}

float gelu_tanh(float x) {
  const float k = 0.7978845608028654f;  // sqrt(2/pi)
  return 0.5f * x * (1.f + std::tanh(k * (x + 0.044715f * x * x * x)));
}

void gelu_tanh_inplace(float* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = gelu_tanh(x[i]);
}

void softcap_inplace(float* x, int64_t n, float cap) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void rope_rotate_half(float* x, int64_t dim, const float* inv_freq, int64_t position) {
  const int64_t half = dim / 2;
  // float32 angle, as Hugging Face computes it (position · inv_freq in float32).
  const float pos = static_cast<float>(position);
  for (int64_t i = 0; i < half; ++i) {
    if (inv_freq[i] == 0.f) continue;
    const float angle = pos * inv_freq[i];
    const float c = std::cos(angle), s = std::sin(angle);
    const float x1 = x[i], x2 = x[i + half];
    x[i] = x1 * c - x2 * s;
    x[i + half] = x2 * c + x1 * s;
  }
}

void rope_angles(int64_t dim, const float* inv_freq, int64_t position, float* cos_out, float* sin_out) {
  const float pos = static_cast<float>(position);
  for (int64_t i = 0; i < dim / 2; ++i) {
    const float angle = pos * inv_freq[i];
    cos_out[i] = inv_freq[i] == 0.f ? 1.f : std::cos(angle);
    sin_out[i] = inv_freq[i] == 0.f ? 0.f : std::sin(angle);
  }
}

void rope_apply(float* x, int64_t dim, const float* cos, const float* sin) {
  const int64_t half = dim / 2;
  for (int64_t i = 0; i < half; ++i) {
    const float x1 = x[i], x2 = x[i + half];
    x[i] = x1 * cos[i] - x2 * sin[i];
    x[i + half] = x2 * cos[i] + x1 * sin[i];
  }
}

void softmax_inplace(float* x, int64_t n) {
  const float mx = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace gemma4::kernels
