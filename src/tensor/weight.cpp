#include "tensor/weight.h"

#include "tensor/quant.h"

namespace gemma4 {

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::f32: return "f32";
    case WeightFormat::bf16: return "bf16";
    case WeightFormat::f16: return "f16";
    case WeightFormat::q8_0: return "q8_0";
    case WeightFormat::q4_0: return "q4_0";
    case WeightFormat::q4r: return "q4r";
    case WeightFormat::q4i: return "q4i";
    case WeightFormat::q8i: return "q8i";
    case WeightFormat::q4s: return "q4s";
  }
  return "?";
}

int64_t weight_row_bytes(WeightFormat f, int64_t cols) {
  switch (f) {
    case WeightFormat::f32: return cols * 4;
    case WeightFormat::bf16:
    case WeightFormat::f16: return cols * 2;
    case WeightFormat::q8_0: return cols / kQK * int64_t{sizeof(BlockQ8_0)};
    case WeightFormat::q4_0: return cols / kQK * int64_t{sizeof(BlockQ4_0)};
    case WeightFormat::q4r: return q4r_row_bytes(cols);
    case WeightFormat::q4i: return cols / kQK * int64_t{sizeof(BlockQ4_0)};  // on average: rows are interleaved
    case WeightFormat::q8i: return cols / kQK * int64_t{sizeof(BlockQ8_0)};
    case WeightFormat::q4s: return q4s_group_bytes(cols) / kQ4iRows;  // 64 + 272·blocks: a multiple of 16
  }
  return 0;
}

int64_t weight_col_multiple(WeightFormat f) {
  switch (f) {
    case WeightFormat::q8_0:
    case WeightFormat::q4_0:
    case WeightFormat::q4i:
    case WeightFormat::q8i:
    case WeightFormat::q4s: return kQK;
    case WeightFormat::q4r: return kQ4rGroup;
    default: return 1;
  }
}

}  // namespace gemma4
