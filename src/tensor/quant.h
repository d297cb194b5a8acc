// Block-quantized formats with GGML-compatible layouts (so GGUF files map onto them as stored).
//   Q8_0: 32 weights per block, one f16 scale d, int8 q:      x = d * q
//   Q4_0: 32 weights per block, one f16 scale d, 4-bit q:     x = d * (q - 8)
//         byte j of qs holds element j (low nibble) and element j + 16 (high nibble).
// These are the reference (scalar) quantizers; fast kernels live in kernels/.
#pragma once
#include <algorithm>
#include <cmath>
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

// Q4R: Q4_0's values repacked per row so SIMD kernels unpack them with a few whole-register
// operations. A row of `cols` (a multiple of 64) is cols/2 bytes of nibbles, then cols/32
// f16 scales (block b's d). In each 64-weight group g (32 bytes), byte j holds element
// 64g + j in its low nibble and element 64g + 32 + j in its high nibble, as q + 8 like Q4_0:
// the low nibbles of a group are block 2g, the high nibbles block 2g + 1.
constexpr int kQ4rGroup = 64;
inline int64_t q4r_row_bytes(int64_t cols) { return cols / 2 + cols / kQK * 2; }
// Lossless: the same values and scales as the Q4_0 row.
void repack_q4_0_to_q4r(const BlockQ4_0* in, uint8_t* out, int64_t cols);
void dequantize_q4r(const uint8_t* row, float* y, int64_t cols);

// Q4I: Q4_0's values interleaved over groups of 16 rows, so one vpdpbusd multiplies 4
// weights of each of 16 rows (one int32 lane per row) by the same 4 activations. Per group
// and 32-block b (288 bytes): the 16 rows' f16 scales, then 4 chunks j of 64 bytes: row
// lane's 4 bytes at 64j + 4·lane hold elements 4j..4j+3 (low nibbles) and 16+4j..16+4j+3
// (high nibbles), as q + 8.
constexpr int kQ4iRows = 16;
constexpr int64_t kQ4iBlockBytes = kQ4iRows * 2 + kQ4iRows * kQK / 2;  // 288
// in: 16 consecutive Q4_0 rows of `cols`; out: the group's cols/32 · 288 bytes.
void interleave_q4_0_to_q4i(const BlockQ4_0* in, uint8_t* out, int64_t cols);
// Row `lane` of a group.
void dequantize_q4i(const uint8_t* group, int lane, float* y, int64_t cols);

// Q8I: the same for Q8_0. Per group and block (544 bytes): 16 f16 scales, then 8 chunks k
// of 64 bytes: row lane's elements 4k..4k+3 (int8) at 64k + 4·lane.
constexpr int64_t kQ8iBlockBytes = kQ4iRows * 2 + kQ4iRows * kQK;  // 544
void interleave_q8_0_to_q8i(const BlockQ8_0* in, uint8_t* out, int64_t cols);
void dequantize_q8i(const uint8_t* group, int lane, float* y, int64_t cols);

// Q4S: Q4I with leaner scales, 4.25 bits per weight instead of 4.5 (decode reads every weight
// byte once per token, so 5.6% fewer bytes is 5.6% more tokens per second). A group of 16 rows
// starts with the rows' float32 scales S (64 bytes); then per 32-block (272 bytes) 16 int8
// scale codes c, one per row (the block's scale is d = S·c), then Q4I's 256 bytes of nibbles
// (q + 8, same order). Made from float rows: each block's scale is rounded away from zero to
// a code first and the nibbles are chosen for that scale, so nothing is clipped; the only
// cost is a slightly coarser step in blocks whose scale is far below the row's largest.
constexpr int64_t kQ4sHeaderBytes = kQ4iRows * 4;
constexpr int64_t kQ4sBlockBytes = kQ4iRows + kQ4iRows * kQK / 2;  // 272
// Bytes of a whole 16-row group of `cols` columns.
inline int64_t q4s_group_bytes(int64_t cols) { return kQ4sHeaderBytes + cols / kQK * kQ4sBlockBytes; }
// The scale code c of a block whose Q4_0 scale is d, under row scale S: rounded away from zero
// so |S·c| >= |d| and no value falls outside −8..7 (at most ±127). Both quantizers (reference
// and AVX-512) use it, so they stay bit-identical.
inline int8_t q4s_scale_code(float d, float S) {
  const float magnitude = S > 0.f ? std::min(127.f, std::ceil(std::fabs(d) / S)) : 0.f;
  return static_cast<int8_t>(d < 0.f ? -magnitude : magnitude);
}
// rows: 16 rows of `cols` floats (row stride cols); out: q4s_group_bytes(cols) bytes.
void quantize_q4s_group(const float* rows, uint8_t* out, int64_t cols);
void dequantize_q4s(const uint8_t* group, int lane, float* y, int64_t cols);

}  // namespace gemma4
