// The packed int8 GEMM against a float64 reference (with the error bound its quantization
// allows) and its VNNI micro-kernel against the portable loop (bit-identical), on odd shapes.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "base/error.h"
#include "kernels/gemm_int8.h"
#include "kernels/kernel_test_util.h"
#include "kernels/vector_ops.h"

namespace gemma4 {
namespace {

struct Shape {
  int64_t n, rows, cols;
};
const Shape kShapes[] = {{1, 1, 1}, {3, 5, 7}, {7, 33, 17}, {13, 32, 64}, {25, 70, 129}, {97, 45, 770}, {200, 96, 768}};

float absmax(const float* v, int64_t n) {
  float m = 0.f;
  for (int64_t i = 0; i < n; ++i) m = std::max(m, std::fabs(v[i]));
  return m;
}

// Checks y against the exact product of the clamped inputs. Each quantized value is within
// half a step (absmax/254, plus float rounding of the scaling) of the true one, so
// |y − x·wᵀ| ≤ Σ_c |x_c|·δw + |w_c|·δx + δx·δw, plus float32 rounding of the final scaling.
void expect_within_quantization_bound(const std::vector<float>& w, const std::vector<float>& x, const Shape& s,
                                      kernels::Clamp in, kernels::Clamp out, const std::vector<float>& y) {
  std::vector<float> xc(x);
  for (float& v : xc) v = std::clamp(v, in.lo, in.hi);
  for (int64_t t = 0; t < s.n; ++t) {
    const float* xt = &xc[t * s.cols];
    const double dx = 0.5001 * absmax(xt, s.cols) / 127.0;
    for (int64_t r = 0; r < s.rows; ++r) {
      const float* wr = &w[r * s.cols];
      const double dw = 0.5001 * absmax(wr, s.cols) / 127.0;
      double exact = 0, bound = 0, magnitude = 0;
      for (int64_t c = 0; c < s.cols; ++c) {
        exact += double(xt[c]) * wr[c];
        bound += std::fabs(xt[c]) * dw + std::fabs(wr[c]) * dx + dx * dw;
        magnitude += std::fabs(double(xt[c]) * wr[c]);
      }
      const double want = std::clamp(exact, double(out.lo), double(out.hi));
      const double tol = bound + 1e-6 * magnitude + 1e-30;
      ASSERT_LE(std::fabs(y[t * s.rows + r] - want), tol)
          << "n=" << s.n << " rows=" << s.rows << " cols=" << s.cols << " t=" << t << " r=" << r;
    }
  }
}

TEST(GemmInt8, WithinQuantizationBoundOfExactProduct) {
  for (const Shape s : kShapes) {
    const std::vector<float> w = test::random_floats(s.rows * s.cols, 11, 0.05f);
    const std::vector<float> x = test::random_floats(s.n * s.cols, 12);
    const kernels::PackedInt8 packed = kernels::pack_int8(test::f32_weight(w, s.rows, s.cols));
    for (kernels::Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      std::vector<float> y(static_cast<size_t>(s.n * s.rows), NAN);
      kernels::gemm_int8(packed, x.data(), s.n, y.data());
      SCOPED_TRACE(kernels::isa_name(isa));
      expect_within_quantization_bound(w, x, s, {}, {}, y);
    }
  }
}

// The bound is not vacuous: the int8 error is well above float32 rounding, but far below the
// magnitude of the outputs.
TEST(GemmInt8, ErrorIsQuantizationSized) {
  const Shape s{64, 96, 768};
  const std::vector<float> w = test::random_floats(s.rows * s.cols, 13, 0.05f);
  const std::vector<float> x = test::random_floats(s.n * s.cols, 14);
  std::vector<float> want(static_cast<size_t>(s.n * s.rows)), got(want.size());
  kernels::matmul_reference(test::f32_weight(w, s.rows, s.cols), x.data(), s.n, want.data());
  kernels::gemm_int8(kernels::pack_int8(test::f32_weight(w, s.rows, s.cols)), x.data(), s.n, got.data());
  const double rel = test::relative_l2(got, want);
  EXPECT_GT(rel, 1e-4);
  EXPECT_LT(rel, 2e-2);
}

TEST(GemmInt8, ClampsInputAndOutput) {
  const Shape s{29, 40, 100};
  const std::vector<float> w = test::random_floats(s.rows * s.cols, 15, 0.05f);
  const std::vector<float> x = test::random_floats(s.n * s.cols, 16, 2.f);
  const kernels::Clamp in{-1.5f, 1.f}, out{-0.3f, 0.2f};
  const kernels::PackedInt8 packed = kernels::pack_int8(test::f32_weight(w, s.rows, s.cols));
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    std::vector<float> y(static_cast<size_t>(s.n * s.rows), NAN);
    kernels::gemm_int8(packed, x.data(), s.n, y.data(), in, out);
    SCOPED_TRACE(kernels::isa_name(isa));
    expect_within_quantization_bound(w, x, s, in, out, y);
    EXPECT_EQ(*std::min_element(y.begin(), y.end()), out.lo);  // the clamps really bite
    EXPECT_EQ(*std::max_element(y.begin(), y.end()), out.hi);
  }
}

// Integer sums are exact and the final float operations are the same: every ISA gives the
// same bits.
TEST(GemmInt8, EveryIsaGivesIdenticalResults) {
  for (const Shape s : kShapes) {
    const std::vector<float> w = test::random_floats(s.rows * s.cols, 17, 0.05f);
    const std::vector<float> x = test::random_floats(s.n * s.cols, 18);
    const kernels::PackedInt8 packed = kernels::pack_int8(test::f32_weight(w, s.rows, s.cols));
    std::vector<float> first;
    for (kernels::Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      std::vector<float> y(static_cast<size_t>(s.n * s.rows), NAN);
      kernels::gemm_int8(packed, x.data(), s.n, y.data(), {-3.f, 3.f}, {});
      if (first.empty())
        first = y;
      else
        EXPECT_EQ(y, first) << kernels::isa_name(isa) << " n=" << s.n << " rows=" << s.rows << " cols=" << s.cols;
    }
  }
}

// q/k/v of one input in one pass: each output exactly what its own gemm_int8 gives, with panel
// counts that do not divide the pool's task size and outputs of different widths and clamps.
TEST(GemmInt8, SharedInputEqualsOneGemmPerWeight) {
  const int64_t n = 101, cols = 70;
  const int64_t rows[] = {40, 96, 33};
  const kernels::Clamp in{-1.5f, 1.f}, outs[] = {{}, {-0.3f, 0.2f}, {-1.f, 10.f}};
  const std::vector<float> x = test::random_floats(n * cols, 21, 2.f);
  std::vector<kernels::PackedInt8> packed;
  for (int i = 0; i < 3; ++i)
    packed.push_back(kernels::pack_int8(test::f32_weight(test::random_floats(rows[i] * cols, 22 + i, 0.05f), rows[i], cols)));
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    std::vector<std::vector<float>> got(3), want(3);
    std::vector<kernels::Int8Product> products;
    for (int i = 0; i < 3; ++i) {
      got[i].assign(static_cast<size_t>(n * rows[i]), NAN);
      want[i].assign(got[i].size(), NAN);
      kernels::gemm_int8(packed[i], x.data(), n, want[i].data(), in, outs[i]);
      products.push_back({&packed[i], got[i].data(), outs[i]});
    }
    kernels::gemm_int8_shared_input(x.data(), n, cols, in, products.data(), 3);
    for (int i = 0; i < 3; ++i) EXPECT_EQ(got[i], want[i]) << kernels::isa_name(isa) << " product " << i;
  }
}

// The fused GeGLU against its three steps: gate and up GEMMs, then kernels::gelu_tanh_mul.
TEST(GemmInt8, GegluEqualsTwoGemmsThenGeluTanhMul) {
  for (const Shape s : {Shape{1, 5, 7}, Shape{29, 70, 100}, Shape{200, 96, 768}}) {
    const std::vector<float> x = test::random_floats(s.n * s.cols, 25, 2.f);
    const kernels::PackedInt8 gate =
        kernels::pack_int8(test::f32_weight(test::random_floats(s.rows * s.cols, 26, 0.05f), s.rows, s.cols));
    const kernels::PackedInt8 up =
        kernels::pack_int8(test::f32_weight(test::random_floats(s.rows * s.cols, 27, 0.05f), s.rows, s.cols));
    const kernels::Clamp in{-1.5f, 1.f}, gate_out{-0.3f, 0.25f}, up_out{-0.2f, 0.3f};
    for (kernels::Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      std::vector<float> want(static_cast<size_t>(s.n * s.rows)), up_y(want.size()), got(want.size(), NAN);
      kernels::gemm_int8(gate, x.data(), s.n, want.data(), in, gate_out);
      kernels::gemm_int8(up, x.data(), s.n, up_y.data(), in, up_out);
      kernels::gelu_tanh_mul(want.data(), up_y.data(), static_cast<int64_t>(want.size()));
      kernels::gemm_int8_geglu(x.data(), s.n, in, gate, gate_out, up, up_out, got.data());
      EXPECT_EQ(got, want) << kernels::isa_name(isa) << " n=" << s.n << " rows=" << s.rows << " cols=" << s.cols;
    }
  }
}

TEST(GemmInt8, QuantizedRowRoundTrips) {
  const int64_t cols = 37, quads = 10;
  const std::vector<float> x = test::random_floats(cols, 19);
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    std::vector<uint8_t> q(static_cast<size_t>(4 * quads), 0);
    float scale = 0.f;
    kernels::quantize_row_int8(x.data(), cols, quads, {}, q.data(), &scale);
    EXPECT_FLOAT_EQ(scale, absmax(x.data(), cols) / 127.f);
    for (int64_t c = 0; c < cols; ++c) EXPECT_NEAR((int(q[c]) - 128) * scale, x[c], 0.5001f * scale) << c;
    for (int64_t c = cols; c < 4 * quads; ++c) EXPECT_EQ(q[c], 128) << "padding " << c;
  }
}

TEST(GemmInt8, ZeroRowsAndEmptyMatrices) {
  const std::vector<float> w = test::random_floats(20 * 8, 20);
  const kernels::PackedInt8 packed = kernels::pack_int8(test::f32_weight(w, 20, 8));
  const std::vector<float> x(3 * 8, 0.f);
  std::vector<float> y(3 * 20, NAN);
  kernels::gemm_int8(packed, x.data(), 3, y.data());
  for (float v : y) EXPECT_EQ(v, 0.f);
  kernels::PackedInt8 empty;
  EXPECT_THROW(kernels::pack_int8(w.data(), 0, 8, 8, empty), Error);
}

}  // namespace
}  // namespace gemma4
