// Packing, activation quantization and threading of the int8 GEMM; the VNNI arithmetic is in
// gemm_int8_avx512.cpp, the portable loops below give the same numbers.
#include "kernels/gemm_int8.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/error.h"
#include "base/thread_pool.h"
#include "kernels/batch_ops.h"  // silu_scalar
#include "kernels/gemm_int8_internal.h"
#include "kernels/gemm_internal.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "kernels/vector_ops.h"  // gelu_tanh_mul

namespace gemma4::kernels {
namespace detail {

void quantize_rows_int8_scalar(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_quads, float lo,
                               float hi, uint8_t* out, int64_t out_stride, float* scales) {
  const int64_t width = 4 * k_quads;
  for (int64_t t = 0; t < n; ++t) {
    const float* row = x + t * x_stride;
    uint8_t* dst = out + t * out_stride;
    float absmax = 0.f;
    for (int64_t c = 0; c < cols; ++c) absmax = std::max(absmax, std::fabs(std::min(std::max(row[c], lo), hi)));
    const float inv = absmax > 0.f ? 127.f / absmax : 0.f;
    scales[t] = absmax / 127.f;
    for (int64_t c = 0; c < cols; ++c) {
      const float q = std::nearbyint(std::min(std::max(row[c], lo), hi) * inv);
      dst[c] = static_cast<uint8_t>(static_cast<int>(std::clamp(q, -127.f, 127.f)) + 128);
    }
    std::fill(dst + cols, dst + width, uint8_t{128});
  }
}

void panel_int8_scalar(const uint8_t* a, int64_t a_stride, const float* a_scale, int64_t m, int64_t k_quads,
                       const Int8Panel& panel, float* y, int64_t y_stride, int cols_valid, float lo, float hi,
                       Epilogue epilogue) {
  check(epilogue != Epilogue::gelu_times_y, "panel_int8_scalar: no fused GeGLU (gemm_int8_geglu runs it unfused)");
  for (int64_t t = 0; t < m; ++t) {
    int32_t acc[kInt8Panel] = {};
    const uint8_t* at = a + t * a_stride;
    for (int64_t k = 0; k < k_quads; ++k) {
      const int8_t* b = panel.q + k * kInt8Panel * 4;
      for (int j = 0; j < kInt8Panel; ++j)
        for (int i = 0; i < 4; ++i) acc[j] += int32_t{at[4 * k + i]} * int32_t{b[4 * j + i]};
    }
    for (int j = 0; j < cols_valid; ++j) {
      const float v = std::min(std::max(static_cast<float>(acc[j] - panel.correction[j]) * panel.w_scale[j] * a_scale[t], lo), hi);
      y[t * y_stride + j] = epilogue == Epilogue::silu ? silu_scalar(v) : v;
    }
  }
}

}  // namespace detail

namespace {

bool use_avx512() { return active_isa() == Isa::avx512; }

detail::Int8PanelFn panel_fn() { return use_avx512() ? detail::panel_int8_avx512 : detail::panel_int8_scalar; }
detail::QuantizeRowsFn quantize_fn() {
  return use_avx512() ? detail::quantize_rows_int8_avx512 : detail::quantize_rows_int8_scalar;
}

void init_shape(PackedInt8& out, int64_t rows, int64_t cols) {
  check(rows > 0 && cols > 0, "pack_int8: empty matrix");
  out.rows = rows;
  out.cols = cols;
  out.k_quads = (cols + 3) / 4;
  out.panels = (rows + kInt8Panel - 1) / kInt8Panel;
  out.q.assign(static_cast<size_t>(out.panels * out.k_quads * kInt8Panel * 4), int8_t{0});
  out.scale.assign(static_cast<size_t>(out.panels * kInt8Panel), 0.f);
  out.correction.assign(out.scale.size(), 0);
}

// Quantizes matrix row r (float32, `cols` values) into its panel slots, scale and correction.
// The weights' rounding is the activations' (absmax / 127 scale, round half to even, ±127), so
// the dispatched activation quantizer does it: vectorized, where a scalar loop spent most of a
// tower's load in std::nearbyint calls.
void pack_row(const float* row, int64_t r, PackedInt8& out) {
  const float inf = std::numeric_limits<float>::infinity();
  thread_local std::vector<uint8_t> quantized;
  quantized.resize(static_cast<size_t>(4 * out.k_quads));
  quantize_fn()(row, out.cols, 1, out.cols, out.k_quads, -inf, inf, quantized.data(), 4 * out.k_quads,
                &out.scale[static_cast<size_t>(r)]);
  int8_t* base = out.q.data() + (r / kInt8Panel) * out.k_quads * kInt8Panel * 4 + (r % kInt8Panel) * 4;
  int32_t sum = 0;
  for (int64_t c = 0; c < out.cols; ++c) {
    const int q = int{quantized[static_cast<size_t>(c)]} - 128;
    base[(c / 4) * kInt8Panel * 4 + c % 4] = static_cast<int8_t>(q);
    sum += q;
  }
  out.correction[r] = 128 * sum;
}

detail::Int8Panel panel_at(const PackedInt8& w, int64_t p) {
  return {w.q.data() + p * w.k_quads * kInt8Panel * 4, w.scale.data() + p * kInt8Panel,
          w.correction.data() + p * kInt8Panel};
}

}  // namespace

PackedInt8 pack_int8(const Weight& w) {
  PackedInt8 out;
  init_shape(out, w.rows, w.cols);
  out.name = w.name;
  detail::pack_weight_rows(w, [&](const float* row, int64_t r) { pack_row(row, r, out); });
  return out;
}

void pack_int8(const float* m, int64_t rows, int64_t cols, int64_t row_stride, PackedInt8& out) {
  init_shape(out, rows, cols);
  for (int64_t r = 0; r < rows; ++r) pack_row(m + r * row_stride, r, out);
}

void quantize_row_int8(const float* x, int64_t cols, int64_t k_quads, Clamp in, uint8_t* out, float* scale) {
  check(k_quads * 4 >= cols, "quantize_row_int8: too few quads");
  quantize_fn()(x, cols, 1, cols, k_quads, in.lo, in.hi, out, 4 * k_quads, scale);
}

namespace {

// x[n, cols] clamped and quantized per row (gemm_int8.h), in buffers reused from call to call:
// encoders call this hundreds of times.
struct QuantizedRows {
  const uint8_t* data;
  const float* scale;
  int64_t stride;  // bytes from row to row
};

QuantizedRows quantize_rows(const float* x, int64_t n, int64_t cols, int64_t k_quads, Clamp in) {
  const int64_t width = 4 * detail::packed_row_stride(k_quads);  // bytes: quads are 4-byte units
  thread_local std::vector<uint8_t> a;
  thread_local std::vector<float> a_scale;
  a.resize(static_cast<size_t>(n * width));
  a_scale.resize(static_cast<size_t>(n));
  uint8_t* a_data = a.data();
  float* scale_data = a_scale.data();
  const detail::QuantizeRowsFn quantize = quantize_fn();
  parallel_ranges(n, 1, [&](int64_t t0, int64_t t1) {
    quantize(x + t0 * cols, cols, t1 - t0, cols, k_quads, in.lo, in.hi, a_data + t0 * width, width, scale_data + t0);
  });
  return {a_data, scale_data, width};
}

// Rows [t0, t0 + m) of the quantized activations against panel p of w, into y (rows of w.rows).
void run_panel(const QuantizedRows& a, const PackedInt8& w, int64_t t0, int64_t m, int64_t p, float* y, Clamp out,
               detail::Epilogue epilogue) {
  const int cols_valid = static_cast<int>(std::min(kInt8Panel, w.rows - p * kInt8Panel));
  panel_fn()(a.data + t0 * a.stride, a.stride, a.scale + t0, m, w.k_quads, panel_at(w, p),
             y + t0 * w.rows + p * kInt8Panel, w.rows, cols_valid, out.lo, out.hi, epilogue);
}

}  // namespace

void gemm_int8(const PackedInt8& w, const float* x, int64_t n, float* y, Clamp in, Clamp out, Activation act) {
  if (n <= 0) return;
  const QuantizedRows a = quantize_rows(x, n, w.cols, w.k_quads, in);
  const detail::Epilogue epilogue = act == Activation::silu ? detail::Epilogue::silu : detail::Epilogue::store;
  detail::for_each_panel_task(n, w.panels,
                              [&](int64_t t0, int64_t m, int64_t p) { run_panel(a, w, t0, m, p, y, out, epilogue); });
}

void gemm_int8_shared_input(const float* x, int64_t n, int64_t cols, Clamp in, const Int8Product* products,
                            int count) {
  std::vector<int64_t> first_panel(static_cast<size_t>(count) + 1, 0);  // products' panels, numbered in a row
  for (int i = 0; i < count; ++i) {
    check(products[i].w->cols == cols, "gemm_int8_shared_input: weights of different input widths");
    first_panel[i + 1] = first_panel[i] + products[i].w->panels;
  }
  if (n <= 0 || count == 0) return;
  const QuantizedRows a = quantize_rows(x, n, cols, products[0].w->k_quads, in);
  detail::for_each_panel_task(n, first_panel[count], [&](int64_t t0, int64_t m, int64_t panel) {
    const int i = static_cast<int>(std::upper_bound(first_panel.begin(), first_panel.end(), panel) - first_panel.begin()) - 1;
    run_panel(a, *products[i].w, t0, m, panel - first_panel[i], products[i].y, products[i].out,
              detail::Epilogue::store);
  });
}

void gemm_int8_geglu(const float* x, int64_t n, Clamp in, const PackedInt8& gate, Clamp gate_out,
                     const PackedInt8& up, Clamp up_out, float* y) {
  check(gate.rows == up.rows && gate.cols == up.cols, "gemm_int8_geglu: gate and up of different shapes");
  if (n <= 0) return;
  if (!use_avx512()) {  // the scalar panels have no fused epilogue: the same steps one by one
    std::vector<float> gated(static_cast<size_t>(n * gate.rows));
    gemm_int8(gate, x, n, gated.data(), in, gate_out);
    gemm_int8(up, x, n, y, in, up_out);
    gelu_tanh_mul(gated.data(), y, static_cast<int64_t>(gated.size()));
    std::copy(gated.begin(), gated.end(), y);
    return;
  }
  const QuantizedRows a = quantize_rows(x, n, up.cols, up.k_quads, in);
  detail::for_each_panel_task(n, up.panels, [&](int64_t t0, int64_t m, int64_t p) {
    run_panel(a, up, t0, m, p, y, up_out, detail::Epilogue::store);  // these rows' tiles stay in L1 ...
    run_panel(a, gate, t0, m, p, y, gate_out, detail::Epilogue::gelu_times_y);  // ... for the gate's epilogue
  });
}

}  // namespace gemma4::kernels
