// Fast row quantizers used by convert_weight (bit-identical to tensor/quant.h's reference).
#pragma once
#include <cstdint>

#include "tensor/quant.h"
#include "tensor/weight.h"

namespace gemma4::kernels::detail {

// Quantizes one bf16 row of `cols` (a multiple of 32) into `out`; false if `target` has no
// fast path here (the caller then uses the reference quantizer).
bool quantize_bf16_row_avx512(const uint16_t* x, int64_t cols, WeightFormat target, void* out);

}  // namespace gemma4::kernels::detail
