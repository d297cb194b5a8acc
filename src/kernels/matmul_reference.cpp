// Plain C++ reference for matmul: float32 accumulation over any weight format, dequantized
// row by row. This is the numerical reference every fast kernel is tested against.
#include <vector>

#include "base/error.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"
#include "tensor/quant.h"

namespace gemma4::kernels {

void dequantize_row_reference(const Weight& w, int64_t row, float* out) {
  if (is_row_interleaved(w.format)) {  // rows interleaved in groups of 16
    const uint8_t* group = static_cast<const uint8_t*>(w.data) + row / kQ4iRows * (kQ4iRows * w.row_bytes());
    const int lane = static_cast<int>(row % kQ4iRows);
    if (w.format == WeightFormat::q4i) dequantize_q4i(group, lane, out, w.cols);
    if (w.format == WeightFormat::q8i) dequantize_q8i(group, lane, out, w.cols);
    if (w.format == WeightFormat::q4s) dequantize_q4s(group, lane, out, w.cols);
    return;
  }
  const auto* base = static_cast<const uint8_t*>(w.data) + row * w.row_bytes();
  switch (w.format) {
    case WeightFormat::f32: {
      const float* src = reinterpret_cast<const float*>(base);
      for (int64_t i = 0; i < w.cols; ++i) out[i] = src[i];
      return;
    }
    case WeightFormat::bf16: {
      const uint16_t* src = reinterpret_cast<const uint16_t*>(base);
      for (int64_t i = 0; i < w.cols; ++i) out[i] = bf16_to_f32(src[i]);
      return;
    }
    case WeightFormat::f16: {
      const uint16_t* src = reinterpret_cast<const uint16_t*>(base);
      for (int64_t i = 0; i < w.cols; ++i) out[i] = f16_to_f32(src[i]);
      return;
    }
    case WeightFormat::q8_0:
      dequantize_q8_0(reinterpret_cast<const BlockQ8_0*>(base), out, w.cols);
      return;
    case WeightFormat::q4_0:
      dequantize_q4_0(reinterpret_cast<const BlockQ4_0*>(base), out, w.cols);
      return;
    case WeightFormat::q4r:
      dequantize_q4r(base, out, w.cols);
      return;
    case WeightFormat::q4i:
    case WeightFormat::q8i:
    case WeightFormat::q4s:
      break;  // handled above
  }
  throw Error("dequantize_row: unsupported weight format for " + w.name);
}

void matmul_reference(const Weight& w, const float* x, int64_t n, float* y) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row_reference(w, r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * w.cols;
      float acc = 0.f;
      for (int64_t i = 0; i < w.cols; ++i) acc += row[i] * xt[i];
      y[t * w.rows + r] = acc;
    }
  }
}

}  // namespace gemma4::kernels
