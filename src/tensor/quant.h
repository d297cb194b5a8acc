// Block-quantized formats with GGML-compatible layouts (so GGUF files map onto them as stored).
//   Q8_0: 32 weights per block, one f16 scale d, int8 q:      x = d * q
//   Q4_0: 32 weights per block, one f16 scale d, 4-bit q:     x = d * (q - 8)
//         byte j of qs holds element j (low nibble) and element j + 16 (high nibble).
// These are the reference (scalar) quantizers; fast kernels live in kernels/.
#pragma once
#include <cstddef>
#include <cstdint>

namespace gemma4 {

constexpr int kQK = 32;  // weights per block for Q8_0 / Q4_0

struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 34, "GGML Q8_0 layout");

struct BlockQ4_0 {
  uint16_t d;  // f16 scale
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_0) == 18, "GGML Q4_0 layout");

// n must be a multiple of kQK.
void quantize_q8_0(const float* x, BlockQ8_0* out, int64_t n);
void dequantize_q8_0(const BlockQ8_0* in, float* y, int64_t n);
void quantize_q4_0(const float* x, BlockQ4_0* out, int64_t n);
void dequantize_q4_0(const BlockQ4_0* in, float* y, int64_t n);

}  // namespace gemma4
