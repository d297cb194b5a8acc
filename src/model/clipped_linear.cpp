#include "model/clipped_linear.h"

#include <algorithm>
#include <cmath>

#include "base/thread_pool.h"
#include "kernels/batch_ops.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/vector_ops.h"

namespace gemma4 {
namespace {

// out[i] = clamp(in[i], lo, hi), spread over the pool (encoder activations are megabytes).
void clamp_into(const float* in, size_t n, float lo, float hi, float* out) {
  parallel_ranges(static_cast<int64_t>(n), 16,
                  [&](int64_t i0, int64_t i1) { kernels::clamp_copy(in + i0, out + i0, i1 - i0, lo, hi); });
}

kernels::Clamp input_bounds(const ClippedLinear& l) { return {l.input_min, l.input_max}; }
kernels::Clamp output_bounds(const ClippedLinear& l) { return {l.output_min, l.output_max}; }

bool same_input_bounds(const ClippedLinear& a, const ClippedLinear& b) {
  return a.input_min == b.input_min && a.input_max == b.input_max;
}

}  // namespace

void ClippedLinear::pack(EncoderNumerics numerics) {
  if (numerics == EncoderNumerics::int8 && kernels::active_isa() == kernels::Isa::avx512)
    packed_int8 = kernels::pack_int8(weight);
  else
    pack_bf16();
}

void apply_unclipped(const ClippedLinear& l, const float* x, int64_t n, float* y) {
  if (l.packed_int8.rows > 0)
    kernels::gemm_int8(l.packed_int8, x, n, y);
  else if (l.packed.rows > 0)
    kernels::gemm(l.packed, x, n, y);
  else
    kernels::matmul(l.weight, x, n, y);
}

void apply(const ClippedLinear& l, const float* x, int64_t n, float* y, kernels::Activation act) {
  if (l.packed_int8.rows > 0) {  // the int8 GEMM clamps as it quantizes and as it scales
    kernels::gemm_int8(l.packed_int8, x, n, y, input_bounds(l), output_bounds(l), act);
    return;
  }
  if (l.packed.rows > 0) {  // so does the bf16 GEMM
    kernels::gemm(l.packed, x, n, y, input_bounds(l), output_bounds(l), act);
    return;
  }
  const bool clip_in = std::isfinite(l.input_min) || std::isfinite(l.input_max);
  std::vector<float> clamped;
  if (clip_in) {
    clamped.resize(static_cast<size_t>(n * l.weight.cols));
    clamp_into(x, clamped.size(), l.input_min, l.input_max, clamped.data());
  }
  apply_unclipped(l, clip_in ? clamped.data() : x, n, y);
  if (std::isfinite(l.output_min) || std::isfinite(l.output_max))
    clamp_into(y, static_cast<size_t>(n * l.weight.rows), l.output_min, l.output_max, y);
  if (act == kernels::Activation::silu) kernels::silu(y, n * l.weight.rows);
}

void apply_shared_input(const float* x, int64_t n, std::initializer_list<LinearOutput> outputs) {
  const ClippedLinear& first = *outputs.begin()->linear;
  const bool shared = std::all_of(outputs.begin(), outputs.end(), [&](const LinearOutput& o) {
    return o.linear->packed_int8.rows > 0 && same_input_bounds(*o.linear, first);
  });
  if (!shared) {
    for (const LinearOutput& o : outputs) apply(*o.linear, x, n, o.y);
    return;
  }
  std::vector<kernels::Int8Product> products;
  for (const LinearOutput& o : outputs) products.push_back({&o.linear->packed_int8, o.y, output_bounds(*o.linear)});
  kernels::gemm_int8_shared_input(x, n, first.weight.cols, input_bounds(first), products.data(),
                                  static_cast<int>(products.size()));
}

void apply_geglu(const ClippedLinear& gate, const ClippedLinear& up, const float* x, int64_t n, float* y,
                 float* scratch) {
  if (gate.packed_int8.rows > 0 && up.packed_int8.rows > 0 && same_input_bounds(gate, up)) {
    kernels::gemm_int8_geglu(x, n, input_bounds(gate), gate.packed_int8, output_bounds(gate),
                             up.packed_int8, output_bounds(up), y);
    return;
  }
  apply(gate, x, n, y);
  apply(up, x, n, scratch);
  kernels::gelu_tanh_mul(y, scratch, n * gate.weight.rows);
}

std::vector<float> apply(const ClippedLinear& l, const std::vector<float>& x, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n * l.weight.rows));
  apply(l, x.data(), n, y.data());
  return y;
}

}  // namespace gemma4
