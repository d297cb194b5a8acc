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

namespace gemma4 {

enum class WeightFormat {
  f32,   // float
  bf16,  // bfloat16 as stored in Hugging Face checkpoints (computed in float32: the reference path)
  f16,   // IEEE half
  // Quantized formats (int8 / int4 with per-block scales) are added by the kernels.
};

struct Weight {
  WeightFormat format = WeightFormat::f32;
  int64_t rows = 0;
  int64_t cols = 0;
  const void* data = nullptr;
  std::shared_ptr<const void> owner;  // optional: storage this weight owns
  std::string name;                   // for error messages and debugging

  bool empty() const { return data == nullptr; }
};

}  // namespace gemma4
