// The per-ISA implementations behind kernels/vector_ops.h (single-threaded; vector_ops.cpp
// dispatches and threads).
#pragma once
#include <cstdint>

namespace gemma4::kernels::detail {

struct VectorOps {
  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float a, const float* x, float* y, int64_t n);
  void (*rms_norm)(const float* x, const float* w, int64_t n, double eps, float* y);
  void (*gelu_tanh_mul)(float* g, const float* u, int64_t n);
  void (*softcap)(float* x, int64_t n, float cap);
  void (*softmax)(float* x, int64_t n);
  // attend_heads (vector_ops.h) for heads ≤ 8 and dim % 16 == 0; null: the generic loop.
  void (*attend_heads)(const float* q, int64_t q_stride, int heads, const float* const* keys,
                       const float* const* values, int64_t count, int64_t dim, float scale, float* out,
                       int64_t out_stride, float* scores) = nullptr;
  // The same with IEEE half keys and values and the optional per-head log normalizers
  // (vector_ops.h attend_heads_f16); null: the generic loop.
  void (*attend_heads_f16)(const float* q, int64_t q_stride, int heads, const uint16_t* const* keys,
                            const uint16_t* const* values, int64_t count, int64_t dim, float scale, float* out,
                            int64_t out_stride, float* scores, float* lse) = nullptr;
  // argmax (vector_ops.h) for x[0] not NaN; null: the plain loop.
  int64_t (*argmax)(const float* x, int64_t n) = nullptr;
  // rms_norm over `rows` rows of n values (y row r from x row r), exactly as rms_norm row by row;
  // null: that loop.
  void (*rms_norm_rows)(const float* x, const float* w, int64_t rows, int64_t n, double eps, float* y) = nullptr;
  // round_to_f16 (vector_ops.h); null: tensor/dtype.h's f32_to_f16 per value.
  void (*round_to_f16)(const float* x, uint16_t* y, int64_t n) = nullptr;
};

const VectorOps& scalar_vector_ops();
const VectorOps& avx2_vector_ops();
const VectorOps& avx512_vector_ops();

}  // namespace gemma4::kernels::detail
