#include "model/clipped_linear.h"

#include <algorithm>
#include <cmath>

#include "kernels/matmul.h"

namespace gemma4 {

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
    for (size_t i = 0; i < x.size(); ++i) clamped[i] = std::clamp(x[i], l.input_min, l.input_max);
  }
  std::vector<float> y(static_cast<size_t>(n * l.weight.rows));
  apply_unclipped(l, clip_in ? clamped.data() : x.data(), n, y.data());
  if (std::isfinite(l.output_min) || std::isfinite(l.output_max))
    for (float& v : y) v = std::clamp(v, l.output_min, l.output_max);
  return y;
}

}  // namespace gemma4
