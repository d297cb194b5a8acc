// Plain C++ reference for matmul: float32 accumulation over f32 / bf16 / f16 weights.
// This is the numerical reference every fast kernel is tested against.
#include <vector>

#include "base/error.h"
#include "kernels/matmul.h"
#include "tensor/dtype.h"

namespace gemma4::kernels {

void dequantize_row(const Weight& w, int64_t row, float* out) {
  switch (w.format) {
    case WeightFormat::f32: {
      const float* src = static_cast<const float*>(w.data) + row * w.cols;
      for (int64_t i = 0; i < w.cols; ++i) out[i] = src[i];
      return;
    }
    case WeightFormat::bf16: {
      const uint16_t* src = static_cast<const uint16_t*>(w.data) + row * w.cols;
      for (int64_t i = 0; i < w.cols; ++i) out[i] = bf16_to_f32(src[i]);
      return;
    }
    case WeightFormat::f16: {
      const uint16_t* src = static_cast<const uint16_t*>(w.data) + row * w.cols;
      for (int64_t i = 0; i < w.cols; ++i) out[i] = f16_to_f32(src[i]);
      return;
    }
  }
  throw Error("dequantize_row: unsupported weight format for " + w.name);
}

void matmul(const Weight& w, const float* x, int64_t n, float* y) {
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w, r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      const float* xt = x + t * w.cols;
      float acc = 0.f;
      for (int64_t i = 0; i < w.cols; ++i) acc += row[i] * xt[i];
      y[t * w.rows + r] = acc;
    }
  }
}

}  // namespace gemma4::kernels
