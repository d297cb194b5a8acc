// Internals shared by gemm_int8.cpp and its VNNI micro-kernels.
#pragma once
#include <cstdint>

#include "kernels/gemm_int8.h"

namespace gemma4::kernels::detail {

// Quantizes rows x[t] (stride x_stride floats, `cols` values, clamped to [lo, hi] first) to
// qx + 128 bytes: out[t · out_stride + c] for c < 4·k_quads (padding 128), scales[t] = absmax / 127.
using QuantizeRowsFn = void (*)(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_quads,
                                float lo, float hi, uint8_t* out, int64_t out_stride, float* scales);

// What a panel does with each finished value v (after its clamp): store it, store silu(v)
// (Activation::silu), or store gelu_tanh(v) · y where y holds the up projection (GeGLU).
enum class Epilogue { store, silu, gelu_times_y };

// For rows t in [0, m) of quantized activations (4·k_quads bytes each, a_stride bytes apart) against
// one packed panel:
// y[t·y_stride + j] = epilogue(clamp(float(Σ a·q − correction[j]) · w_scale[j] · a_scale[t], lo, hi))
// for j < cols_valid (≤ 32). The scalar panel has no gelu_times_y (gemm_int8_geglu does not ask).
struct Int8Panel {
  const int8_t* q;
  const float* w_scale;
  const int32_t* correction;
};
using Int8PanelFn = void (*)(const uint8_t* a, int64_t a_stride, const float* a_scale, int64_t m, int64_t k_quads,
                             const Int8Panel& panel, float* y, int64_t y_stride, int cols_valid, float lo, float hi,
                             Epilogue epilogue);

void quantize_rows_int8_scalar(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_quads, float lo,
                               float hi, uint8_t* out, int64_t out_stride, float* scales);
void panel_int8_scalar(const uint8_t* a, int64_t a_stride, const float* a_scale, int64_t m, int64_t k_quads,
                       const Int8Panel& panel, float* y, int64_t y_stride, int cols_valid, float lo, float hi,
                       Epilogue epilogue);
void quantize_rows_int8_avx512(const float* x, int64_t x_stride, int64_t n, int64_t cols, int64_t k_quads, float lo,
                               float hi, uint8_t* out, int64_t out_stride, float* scales);
void panel_int8_avx512(const uint8_t* a, int64_t a_stride, const float* a_scale, int64_t m, int64_t k_quads,
                       const Int8Panel& panel, float* y, int64_t y_stride, int cols_valid, float lo, float hi,
                       Epilogue epilogue);

}  // namespace gemma4::kernels::detail
