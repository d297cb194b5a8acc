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
};

const VectorOps& scalar_vector_ops();
const VectorOps& avx512_vector_ops();

}  // namespace gemma4::kernels::detail
