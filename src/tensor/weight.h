// A 2-D weight matrix in whatever format the kernels consume.
//
// Layout follows PyTorch's Linear: `rows` output features, each a contiguous row of
// `cols` input features. Quantized formats store each row as whole blocks.
// `data` usually points into a memory-mapped checkpoint; `owner` keeps converted or
// repacked storage alive when the weight is not used as stored.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace gemma4 {

enum class WeightFormat {
  f32,   // float
  bf16,  // bfloat16 as stored in Hugging Face checkpoints (computed in float32: the reference path)
  f16,   // IEEE half
  q8_0,  // GGML Q8_0 blocks (tensor/quant.h): 32 int8 + f16 scale, 8.5 bits per weight
  q4_0,  // GGML Q4_0 blocks (tensor/quant.h): 32 int4 + f16 scale, 4.5 bits per weight
  q4r,   // Q4_0's values and scales repacked per row for SIMD (tensor/quant.h): same 4.5 bits
  q4i,   // Q4_0's values and scales interleaved over 16 rows for VNNI GEMM (tensor/quant.h)
  q8i,   // Q8_0's values and scales interleaved over 16 rows for VNNI GEMM (tensor/quant.h)
  q4s,   // Q4I with 8-bit block scales under a per-row float scale: 4.25 bits per weight (tensor/quant.h)
};

// Short lower-case name ("bf16", "q8_0", ...) for messages and flags.
const char* weight_format_name(WeightFormat f);

// Bytes one row of `cols` weights occupies in format f (cols a multiple of the block size
// for block formats).
int64_t weight_row_bytes(WeightFormat f, int64_t cols);

// True for the block-quantized formats (int8 activations in the kernels).
inline bool is_block_quantized(WeightFormat f) {
  return f == WeightFormat::q8_0 || f == WeightFormat::q4_0 || f == WeightFormat::q4r || f == WeightFormat::q4i ||
         f == WeightFormat::q8i || f == WeightFormat::q4s;
}

// The formats whose rows are interleaved in groups of 16.
inline bool is_row_interleaved(WeightFormat f) {
  return f == WeightFormat::q4i || f == WeightFormat::q8i || f == WeightFormat::q4s;
}

// cols must be a multiple of this for format f (1 for the float formats).
int64_t weight_col_multiple(WeightFormat f);
// Whether a matrix with `cols` columns can be stored in format f (a load-time conversion
// keeps the stored format for the few that cannot).
// rows must be a multiple of this (formats that interleave rows).
inline int64_t weight_row_multiple(WeightFormat f) { return is_row_interleaved(f) ? 16 : 1; }
inline bool weight_format_fits(WeightFormat f, int64_t rows, int64_t cols) {
  return cols % weight_col_multiple(f) == 0 && rows % weight_row_multiple(f) == 0;
}

struct Weight {
  WeightFormat format = WeightFormat::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  std::shared_ptr<const void> owner;  // optional: storage this weight owns
  std::string name;                   // for error messages and debugging

  bool empty() const { return data == nullptr; }
  int64_t row_bytes() const { return weight_row_bytes(format, cols); }
  int64_t total_bytes() const { return rows * row_bytes(); }
};

// A float32 matrix [rows, cols] viewing row-major `data`, which must outlive it unless `owner`
// keeps it alive.
inline Weight f32_matrix_view(const float* data, int64_t rows, int64_t cols, std::string name,
                              std::shared_ptr<const void> owner = nullptr) {
  Weight w;
  w.format = WeightFormat::f32;
  w.rows = rows;
  w.cols = cols;
  w.data = data;
  w.owner = std::move(owner);
  w.name = std::move(name);
  return w;
}

}  // namespace gemma4
