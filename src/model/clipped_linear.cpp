#include "model/clipped_linear.h"

#include <algorithm>
#include <cmath>

#include "base/thread_pool.h"
#include "kernels/matmul.h"

namespace gemma4 {
namespace {

// out[i] = clamp(in[i], lo, hi), spread over the pool (encoder activations are megabytes).
void clamp_into(const float* in, size_t n, float lo, float hi, float* out) {
  parallel_ranges(static_cast<int64_t>(n), 16, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) out[i] = std::clamp(in[i], lo, hi);
  });
}

}  // namespace

void apply_unclipped(const ClippedLinear& l, const float* x, int64_t n, float* y) {
  if (l.is_packed())
    kernels::gemm(l.packed, x, n, y);
  else
    kernels::matmul(l.weight, x, n, y);
}

std::vector<float> apply(const ClippedLinear& l, const std::vector<float>& x, int64_t n) {
  const bool clip_in = std::isfinite(l.input_min) || std::isfinite(l.input_max);
  std::vector<float> clamped;
  if (clip_in) {
    clamped.resize(x.size());
    clamp_into(x.data(), x.size(), l.input_min, l.input_max, clamped.data());
  }
  std::vector<float> y(static_cast<size_t>(n * l.weight.rows));
  apply_unclipped(l, clip_in ? clamped.data() : x.data(), n, y.data());
  if (std::isfinite(l.output_min) || std::isfinite(l.output_max))
    clamp_into(y.data(), y.size(), l.output_min, l.output_max, y.data());
  return y;
}

}  // namespace gemma4
