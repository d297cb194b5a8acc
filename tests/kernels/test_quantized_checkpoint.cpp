// Quantization error on real checkpoint tensors: every bf16 matrix of the tiny goldens model
// converted to each block format, multiplied with random activations, against float32 on the
// bf16 weights (the reference path).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "base/error.h"
#include "io/safetensors.h"
#include "kernel_test_util.h"
#include "kernels/matmul.h"
#include "test_util.h"

using namespace gemma4;

namespace {

Weight as_weight(const TensorInfo& t) {
  Weight w;
  w.format = WeightFormat::bf16;
  w.rows = t.shape[0];
  w.cols = t.shape[1];
  w.data = t.data;
  w.name = t.name;
  return w;
}

// Bounds as in test_matmul.cpp: Q8_0 loses about 0.5% (weights) + 0.5% (activations) in
// quadrature; Q4_0 about 8% for normal-like weights (step amax/8, amax ≈ 2.1σ per 32 values).
// Those hold for the error pooled over all matrices. A single small matrix (16 outputs) is a
// small sample of that error, so each one is only held to twice the bound.
TEST(QuantizedCheckpoint, TinyModelMatricesStayWithinBounds) {
  const TensorStore store = TensorStore::open(test::tiny_dir());
  struct Worst {
    double err = 0;
    std::string name;
  };
  Worst worst[6];
  double err2[6] = {}, ref2[6] = {};
  const WeightFormat formats[6] = {WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4r,
                                   WeightFormat::q4i,  WeightFormat::q8i,  WeightFormat::q4s};
  int checked = 0;
  uint32_t seed = 1;
  for (const auto& [name, t] : store.tensors()) {
    if (t.dtype != DType::bf16 || t.shape.size() != 2) continue;
    const Weight bf16 = as_weight(t);
    const int64_t n = 16;
    const auto x = test::random_floats(n * bf16.cols, seed++);
    std::vector<float> ref(static_cast<size_t>(n * bf16.rows)), y(ref.size());
    kernels::matmul_reference(bf16, x.data(), n, ref.data());
    for (int f = 0; f < 6; ++f) {
      if (!weight_format_fits(formats[f], bf16.rows, bf16.cols)) {
        EXPECT_THROW(kernels::convert_weight(bf16, formats[f]), Error) << name;
        continue;
      }
      kernels::matmul(kernels::convert_weight(bf16, formats[f]), x.data(), n, y.data());
      const double err = test::relative_l2(y, ref);
      if (err > worst[f].err) worst[f] = {err, name};
      for (size_t i = 0; i < y.size(); ++i) {
        err2[f] += (double(y[i]) - ref[i]) * (double(y[i]) - ref[i]);
        ref2[f] += double(ref[i]) * ref[i];
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
  double pooled[6];
  for (int f = 0; f < 6; ++f) {
    pooled[f] = std::sqrt(err2[f] / ref2[f]);
    RecordProperty(std::string("pooled_") + weight_format_name(formats[f]), std::to_string(pooled[f]));
    RecordProperty(std::string("worst_") + weight_format_name(formats[f]),
                   std::to_string(worst[f].err) + " " + worst[f].name);
  }
  const double bound[6] = {0.01, 0.10, 0.10, 0.10, 0.01, 0.10};
  for (int f = 0; f < 6; ++f) {
    EXPECT_LT(pooled[f], bound[f]) << weight_format_name(formats[f]);
    EXPECT_LT(worst[f].err, 2 * bound[f]) << weight_format_name(formats[f]) << " " << worst[f].name;
  }
}

}  // namespace
