// Packing and threading of the bf16 GEMM; the arithmetic is in gemm_avx512.cpp (and the
// portable loop below).
#include "kernels/gemm.h"

#include <algorithm>
#include <limits>

#include "base/error.h"
#include "base/thread_pool.h"
#include "kernels/batch_ops.h"  // silu_scalar
#include "kernels/gemm_internal.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

namespace gemma4::kernels {
namespace detail {

void round_pairs_scalar(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_pairs, float lo,
                        float hi, uint32_t* out, int64_t out_stride) {
  const auto clamped = [&](float v) { return std::min(std::max(v, lo), hi); };
  for (int64_t t = 0; t < n; ++t) {
    const float* row = x + t * x_stride;
    uint32_t* dst = out + t * out_stride;
    for (int64_t p = 0; p < k_pairs; ++p) {
      const uint32_t even = f32_to_bf16(clamped(row[2 * p]));
      const uint32_t odd = 2 * p + 1 < cols ? f32_to_bf16(clamped(row[2 * p + 1])) : 0u;
      dst[p] = even | (odd << 16);
    }
  }
}

void panel_scalar(const uint32_t* a, int64_t a_stride, int64_t m, int64_t k_pairs, const uint32_t* panel, float* y,
                  int64_t y_stride, int cols_valid, float lo, float hi, Activation act) {
  for (int64_t t = 0; t < m; ++t) {
    float acc[kGemmPanel] = {};
    const uint32_t* at = a + t * a_stride;
    for (int64_t p = 0; p < k_pairs; ++p) {
      const float a0 = bf16_to_f32(static_cast<uint16_t>(at[p])), a1 = bf16_to_f32(static_cast<uint16_t>(at[p] >> 16));
      const uint32_t* b = panel + p * kGemmPanel;
      for (int j = 0; j < kGemmPanel; ++j)
        acc[j] += a0 * bf16_to_f32(static_cast<uint16_t>(b[j])) + a1 * bf16_to_f32(static_cast<uint16_t>(b[j] >> 16));
    }
    for (int j = 0; j < cols_valid; ++j) {
      const float v = std::min(std::max(acc[j], lo), hi);
      y[t * y_stride + j] = act == Activation::silu ? silu_scalar(v) : v;
    }
  }
}

}  // namespace detail

namespace {

bool use_avx512() { return active_isa() == Isa::avx512; }

detail::PanelFn panel_fn() { return use_avx512() ? detail::panel_avx512 : detail::panel_scalar; }
detail::RoundPairsFn round_fn() { return use_avx512() ? detail::round_pairs_avx512 : detail::round_pairs_scalar; }

void init_shape(PackedBf16& out, int64_t rows, int64_t cols) {
  check(rows > 0 && cols > 0, "pack_bf16: empty matrix");
  out.rows = rows;
  out.cols = cols;
  out.k_pairs = (cols + 1) / 2;
  out.panels = (rows + kGemmPanel - 1) / kGemmPanel;
  out.pairs.assign(static_cast<size_t>(out.panels * out.k_pairs * kGemmPanel), 0u);
}

// Writes matrix row r (float32, `cols` values) into its panel slots.
void pack_row(const float* row, int64_t r, PackedBf16& out) {
  uint32_t* base = out.pairs.data() + (r / kGemmPanel) * out.k_pairs * kGemmPanel + r % kGemmPanel;
  for (int64_t p = 0; p < out.k_pairs; ++p) {
    const uint32_t lo = f32_to_bf16(row[2 * p]);
    const uint32_t hi = 2 * p + 1 < out.cols ? f32_to_bf16(row[2 * p + 1]) : 0u;
    base[p * kGemmPanel] = lo | (hi << 16);
  }
}

}  // namespace

// A bf16 matrix row straight into its panel slots: the values f32_to_bf16(bf16_to_f32(v)) gives
// (v itself; NaNs quieted) without the float32 round trip.
void pack_bf16_row(const uint16_t* row, int64_t r, PackedBf16& out) {
  const auto same_bf16 = [](uint16_t v) -> uint32_t { return (v & 0x7fffu) > 0x7f80u ? (v | 0x40u) : v; };
  uint32_t* base = out.pairs.data() + (r / kGemmPanel) * out.k_pairs * kGemmPanel + r % kGemmPanel;
  for (int64_t p = 0; p < out.k_pairs; ++p) {
    const uint32_t lo = same_bf16(row[2 * p]);
    const uint32_t hi = 2 * p + 1 < out.cols ? same_bf16(row[2 * p + 1]) : 0u;
    base[p * kGemmPanel] = lo | (hi << 16);
  }
}

PackedBf16 pack_bf16(const Weight& w) {
  PackedBf16 out;
  init_shape(out, w.rows, w.cols);
  out.name = w.name;
  if (w.format == WeightFormat::bf16) {  // as stored: no float32 round trip (a tower loads ~2x faster)
    parallel_ranges(w.rows, 1, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r)
        pack_bf16_row(reinterpret_cast<const uint16_t*>(static_cast<const uint8_t*>(w.data) + r * w.row_bytes()), r,
                      out);
    });
    return out;
  }
  detail::pack_weight_rows(w, [&](const float* row, int64_t r) { pack_row(row, r, out); });
  return out;
}

void pack_bf16(const float* m, int64_t rows, int64_t cols, int64_t row_stride, PackedBf16& out) {
  init_shape(out, rows, cols);
  for (int64_t r = 0; r < rows; ++r) pack_row(m + r * row_stride, r, out);
}

void gemm_serial(const PackedBf16& w, const float* x, int64_t x_stride, int64_t n, float* y, int64_t y_stride) {
  if (n <= 0) return;
  thread_local std::vector<uint32_t> a;
  const int64_t a_stride = detail::packed_row_stride(w.k_pairs);
  a.resize(static_cast<size_t>(n * a_stride));
  constexpr float kInf = std::numeric_limits<float>::infinity();
  round_fn()(x, x_stride, n, w.cols, w.k_pairs, -kInf, kInf, a.data(), a_stride);
  const detail::PanelFn panel = panel_fn();
  for (int64_t t0 = 0; t0 < n; t0 += detail::kGemmRowChunk) {
    const int64_t m = std::min(detail::kGemmRowChunk, n - t0);
    for (int64_t p = 0; p < w.panels; ++p) {
      const int cols_valid = static_cast<int>(std::min(kGemmPanel, w.rows - p * kGemmPanel));
      panel(a.data() + t0 * a_stride, a_stride, m, w.k_pairs, w.pairs.data() + p * w.k_pairs * kGemmPanel,
            y + t0 * y_stride + p * kGemmPanel, y_stride, cols_valid, -kInf, kInf, Activation::none);
    }
  }
}

void gemm(const PackedBf16& w, const float* x, int64_t n, float* y) { gemm(w, x, n, y, Clamp{}, Clamp{}); }

void gemm(const PackedBf16& w, const float* x, int64_t n, float* y, Clamp in, Clamp out, Activation act) {
  if (n <= 0) return;
  const int64_t a_stride = detail::packed_row_stride(w.k_pairs);
  std::vector<uint32_t> a(static_cast<size_t>(n * a_stride));
  const detail::RoundPairsFn round = round_fn();
  parallel_ranges(n, 1, [&](int64_t t0, int64_t t1) {
    round(x + t0 * w.cols, w.cols, t1 - t0, w.cols, w.k_pairs, in.lo, in.hi, a.data() + t0 * a_stride, a_stride);
  });
  const detail::PanelFn panel = panel_fn();
  detail::for_each_panel_task(n, w.panels, [&](int64_t t0, int64_t m, int64_t p) {
    const int cols_valid = static_cast<int>(std::min(kGemmPanel, w.rows - p * kGemmPanel));
    panel(a.data() + t0 * a_stride, a_stride, m, w.k_pairs, w.pairs.data() + p * w.k_pairs * kGemmPanel,
          y + t0 * w.rows + p * kGemmPanel, w.rows, cols_valid, out.lo, out.hi, act);
  });
}

}  // namespace gemma4::kernels
