// GGML tensor types as stored in GGUF files: ids, block geometry, reference (scalar)
// dequantization to float32, and the quantizers `gemma4 quantize` writes.
//
// Block layouts are GGML's, byte for byte, so a GGUF tensor can be used as stored
// (memory-mapped). Fast kernels live in kernels/; this file is the reference they are
// tested against.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {

// Numeric ids are GGML's (ggml.h `enum ggml_type`); they are what GGUF stores.
enum class GgmlType : uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q8_1 = 9,
  q2_k = 10,
  q3_k = 11,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  q8_k = 15,
  i8 = 24,
  i16 = 25,
  i32 = 26,
  i64 = 27,
  f64 = 28,
  bf16 = 30,
};

// Name of any GGML type id, known to us or not ("Q4_K", "IQ2_XXS", "type 77").
std::string ggml_type_name(uint32_t id);
std::string ggml_type_name(GgmlType t);
// Parses "q8_0", "Q4_K", "bf16"... Throws Error(unsupported) for other names.
GgmlType ggml_type_from_name(const std::string& name);

// True for the types we can read (dequantize): F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0,
// Q5_1, Q4_K, Q5_K, Q6_K.
bool ggml_type_supported(uint32_t id);
// Throws Error("unsupported tensor type X ...", unsupported) unless supported.
void require_supported_ggml_type(uint32_t id, const std::string& tensor_name);

// Elements per block (1 for plain floats) and bytes per block. Supported types only.
int64_t ggml_block_elems(GgmlType t);
size_t ggml_block_bytes(GgmlType t);
// Bytes of a row of n elements; throws Error if n is not a whole number of blocks.
size_t ggml_row_bytes(GgmlType t, int64_t n);

// Reference dequantization of n elements (a whole number of blocks) starting at `src`.
void dequantize_ggml(GgmlType t, const void* src, float* dst, int64_t n);

// Quantizes n elements (a whole number of blocks) into GGML layout. Supported targets:
// F32, F16, BF16, Q8_0, Q4_0, Q4_K. Returns the bytes.
std::vector<uint8_t> quantize_ggml(GgmlType t, const float* src, int64_t n);
bool ggml_can_quantize_to(GgmlType t);

// K-quant super-block layouts (256 weights), GGML's field order.
constexpr int kQK_K = 256;
struct BlockQ4_K {
  uint16_t d;      // f16 super-block scale for the 6-bit sub-block scales
  uint16_t dmin;   // f16 super-block scale for the 6-bit sub-block mins
  uint8_t scales[12];  // 8 scales + 8 mins, 6 bits each, packed
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144, "GGML Q4_K layout");

struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];  // the fifth bit of each weight
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176, "GGML Q5_K layout");

struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];      // low 4 bits
  uint8_t qh[kQK_K / 4];      // high 2 bits
  int8_t scales[kQK_K / 16];  // 16 sub-block scales, int8
  uint16_t d;                 // f16 super-block scale
};
static_assert(sizeof(BlockQ6_K) == 210, "GGML Q6_K layout");

// 32-weight formats not in tensor/quant.h.
struct BlockQ4_1 {
  uint16_t d, m;  // x = d * q + m
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_1) == 20, "GGML Q4_1 layout");
struct BlockQ5_0 {
  uint16_t d;     // x = d * (q - 16)
  uint8_t qh[4];  // fifth bits, little-endian uint32: bit j for element j
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22, "GGML Q5_0 layout");
struct BlockQ5_1 {
  uint16_t d, m;  // x = d * q + m
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24, "GGML Q5_1 layout");

// The packed 6-bit (scale, min) pair j (0..7) of a Q4_K / Q5_K block.
void unpack_k_scale_min(const uint8_t* scales, int j, uint8_t* scale, uint8_t* min);

}  // namespace gemma4
