// Fast row quantizers used by convert_weight (bit-identical to tensor/quant.h's reference).
#pragma once
#include <cstdint>

#include "tensor/quant.h"
#include "tensor/weight.h"

namespace gemma4::kernels::detail {

// Quantizes one bf16 row of `cols` (a multiple of 32) into `out`; false if `target` has no
// fast path here (the caller then uses the reference quantizer).
bool quantize_bf16_row_avx512(const uint16_t* x, int64_t cols, WeightFormat target, void* out);

// Quantizes 16 bf16 rows of `cols` (row stride cols) into one Q4S group, bit-identical to
// quantize_q4s_group on the same values.
void quantize_bf16_group_q4s_avx512(const uint16_t* rows, int64_t cols, uint8_t* out);

// Quantizes one float32 activation row of `cols` (a multiple of 32) per 32-block as
// quantize_activations() does, bit-identically: q[cols]; per block its scale d and the sum of
// its int8 values, each written 8 times (d8, sum8: [cols / 32][8]); and once per block the
// scale and -8·sum / -128·sum (d1, minus8_sum, minus128_sum: [cols / 32]). d8 and sum8 may
// both be null (not written).
void quantize_activation_row_avx512(const float* x, int64_t cols, int8_t* q, float* d8, int32_t* sum8, float* d1,
                                    int32_t* minus8_sum, int32_t* minus128_sum);

}  // namespace gemma4::kernels::detail
