// Packed int8 GEMM for large batches (encoder linears), on AVX512-VNNI's vpdpbusd.
//
// Weights are quantized once, at load, per output feature: w[r][c] ≈ w_scale[r] · qw[r][c]
// with qw in [-127, 127]. Activations are quantized per call, per row: x[t][c] ≈ x_scale[t] ·
// qx[t][c], qx in [-127, 127], stored as qx + 128 (vpdpbusd multiplies unsigned by signed
// bytes). The integer sum Σ (qx + 128)·qw is exact in int32; the +128 is taken back with the
// per-feature constant 128·Σ_c qw[r][c], and one float multiply by x_scale[t]·w_scale[r]
// finishes each output: no float work inside the K loop.
//
// Numerics: each activation and weight is off by at most half its row's step (absmax / 254),
// so |y − x·wᵀ| ≤ Σ_c (|x_c|·δw + |w_c|·δx + δx·δw) (tests/kernels/test_gemm_int8.cpp checks
// this bound). Optional clamps of the input (before quantizing) and of the output (after
// scaling) cost nothing extra: they ride on passes the kernel makes anyway.
//
// Without VNNI the same packed integers go through a plain C++ loop: identical results (the
// integer sums are exact and the final float operations are the same), only slower.
#pragma once
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tensor/weight.h"

namespace gemma4::kernels {

constexpr int64_t kInt8Panel = 32;  // output features per packed panel

// A weight [rows, cols] (y = x·Wᵀ) packed for gemm_int8(). K is padded to a multiple of 4
// (quads: vpdpbusd's 4-byte groups). Quantized element (r, c) lives in panel r / 32 at
// q[((panel · k_quads + c / 4) · 32 + r % 32) · 4 + c % 4]. Padding rows/columns are 0.
struct PackedInt8 {
  int64_t rows = 0, cols = 0;
  int64_t k_quads = 0;  // (cols + 3) / 4
  int64_t panels = 0;   // ceil(rows / 32)
  std::vector<int8_t> q;
  std::vector<float> scale;         // [panels · 32]: w ≈ scale · q per output feature
  std::vector<int32_t> correction;  // [panels · 32]: 128 · Σ_c q[r][c], the unsigned-offset term
  std::string name;
};

// Packs any weight format (dequantized to float32 first). Multi-threaded.
PackedInt8 pack_int8(const Weight& w);
// Packs a float32 row-major matrix m[rows][cols] with rows `row_stride` floats apart.
void pack_int8(const float* m, int64_t rows, int64_t cols, int64_t row_stride, PackedInt8& out);

// Bounds applied to every value; the defaults change nothing.
struct Clamp {
  float lo = -std::numeric_limits<float>::infinity();
  float hi = std::numeric_limits<float>::infinity();
  bool active() const { return lo > -std::numeric_limits<float>::infinity() || hi < std::numeric_limits<float>::infinity(); }
};

// What the GEMMs apply to each output after its clamp, while it is still in a register (no pass
// over y): SiLU gives exactly what kernels::silu (batch_ops.h) gives on the same ISA.
enum class Activation { none, silu };

// y[n, w.rows] = act(clamp_out(clamp_in(x[n, w.cols]) · wᵀ)) with x quantized per row. Spread
// over the thread pool. x and y must not overlap.
void gemm_int8(const PackedInt8& w, const float* x, int64_t n, float* y, Clamp in = {}, Clamp out = {},
               Activation act = Activation::none);

// One of several products of the same activations (gemm_int8_shared_input):
// y[n, w.rows] = clamp_out(clamp_in(x) · wᵀ).
struct Int8Product {
  const PackedInt8* w;
  float* y;
  Clamp out;
};

// gemm_int8 for every product (all with w.cols = cols), x quantized once and all their panels
// in one pass of the pool: q/k/v of one input. Each y is exactly what gemm_int8 gives.
void gemm_int8_shared_input(const float* x, int64_t n, int64_t cols, Clamp in, const Int8Product* products,
                            int count);

// GeGLU: y[n, rows] = gelu_tanh(clamp_gate(clamp_in(x) · gateᵀ)) · clamp_up(clamp_in(x) · upᵀ),
// x quantized once. Each task stores its up tiles, then its gate tiles multiply into them as
// they are stored: no gate buffer, no separate pass. Exactly gemm_int8 twice and then
// kernels::gelu_tanh_mul (vector_ops.h) on every ISA (without AVX-512 it is that sequence).
void gemm_int8_geglu(const float* x, int64_t n, Clamp in, const PackedInt8& gate, Clamp gate_out,
                     const PackedInt8& up, Clamp up_out, float* y);

// The quantized activations of one row as gemm_int8 makes them, for tests: qx + 128 in
// out[0, 4·k_quads) (padding: 128) and the row's scale.
void quantize_row_int8(const float* x, int64_t cols, int64_t k_quads, Clamp in, uint8_t* out, float* scale);

}  // namespace gemma4::kernels
