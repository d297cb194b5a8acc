// The packed bf16 GEMM, long attention and batch ops against float32 references, on every
// ISA this CPU runs (the AVX-512 micro-kernels and the portable loops).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels/attention_long.h"
#include "kernels/batch_ops.h"
#include "kernels/reference_ops.h"
#include "kernels/vector_ops.h"
#include "kernels/gemm.h"
#include "kernels/kernel_test_util.h"

namespace gemma4 {
namespace {

std::vector<float> rounded_to_bf16(std::vector<float> v) {
  for (float& x : v) x = bf16_to_f32(f32_to_bf16(x));
  return v;
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  float worst = 0.f;
  for (size_t i = 0; i < a.size(); ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

// A bf16 weight is packed straight from its 16-bit values: the same panels as packing the
// float32 values it stands for (odd width: the last pair's high half is zero padding).
TEST(Gemm, PackingBf16WeightsEqualsPackingTheirFloats) {
  const Weight w = test::random_bf16_weight(45, 67, 3);
  std::vector<float> floats(static_cast<size_t>(w.rows * w.cols));
  for (int64_t r = 0; r < w.rows; ++r) kernels::dequantize_row(w, r, floats.data() + r * w.cols);
  const kernels::PackedBf16 direct = kernels::pack_bf16(w);
  const kernels::PackedBf16 via_floats = kernels::pack_bf16(test::f32_weight(floats, w.rows, w.cols));
  EXPECT_EQ(direct.pairs, via_floats.pairs);
}

// gemm rounds x and w to bf16 and sums products in float32: against the float32 product of
// the rounded inputs only the summation order differs (a few ulp of the row's magnitude).
TEST(Gemm, MatchesReferenceOfRoundedInputs) {
  struct Shape {
    int64_t n, rows, cols;
  };
  for (const Shape s : {Shape{1, 1, 1}, Shape{7, 33, 17}, Shape{8, 32, 64}, Shape{19, 70, 129}, Shape{200, 96, 768}}) {
    const std::vector<float> w = test::random_floats(s.rows * s.cols, 1, 0.05f);
    const std::vector<float> x = test::random_floats(s.n * s.cols, 2);
    std::vector<float> want(static_cast<size_t>(s.n * s.rows));
    const std::vector<float> w_bf16 = rounded_to_bf16(w), x_bf16 = rounded_to_bf16(x);
    kernels::matmul_reference(test::f32_weight(w_bf16, s.rows, s.cols), x_bf16.data(), s.n, want.data());
    for (kernels::Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      const kernels::PackedBf16 packed = kernels::pack_bf16(test::f32_weight(w, s.rows, s.cols));
      std::vector<float> got(want.size(), NAN);
      kernels::gemm(packed, x.data(), s.n, got.data());
      const float tol = 2e-6f * std::sqrt(static_cast<float>(s.cols)) + 1e-6f;
      EXPECT_LE(max_abs_diff(got, want), tol)
          << kernels::isa_name(isa) << " n=" << s.n << " rows=" << s.rows << " cols=" << s.cols;
    }
  }
}

// gemm_serial with row strides writes only its columns of y and reads only its columns of x.
TEST(Gemm, SerialHonoursStrides) {
  const int64_t n = 13, rows = 40, cols = 24, x_stride = 30, y_stride = 50;
  const std::vector<float> w = test::random_floats(rows * cols, 3, 0.05f);
  const std::vector<float> x = test::random_floats(n * x_stride, 4);
  std::vector<float> dense_x(static_cast<size_t>(n * cols));
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < cols; ++c) dense_x[t * cols + c] = x[t * x_stride + c];
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    kernels::PackedBf16 packed;
    kernels::pack_bf16(w.data(), rows, cols, cols, packed);
    std::vector<float> dense(static_cast<size_t>(n * rows)), strided(static_cast<size_t>(n * y_stride), -7.f);
    kernels::gemm(packed, dense_x.data(), n, dense.data());
    kernels::gemm_serial(packed, x.data(), x_stride, n, strided.data(), y_stride);
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t r = 0; r < rows; ++r) ASSERT_EQ(strided[t * y_stride + r], dense[t * rows + r]) << t << "," << r;
      for (int64_t r = rows; r < y_stride; ++r) ASSERT_EQ(strided[t * y_stride + r], -7.f);
    }
  }
}

// The clamps ride on the rounding and the stores: the same numbers as clamping x, multiplying
// and clamping y in separate passes (odd sizes: an odd K, a partial panel, a partial tile).
TEST(Gemm, ClampsInputAndOutputLikeSeparatePasses) {
  const int64_t n = 29, rows = 45, cols = 37;
  const std::vector<float> w = test::random_floats(rows * cols, 13, 0.3f);
  const std::vector<float> x = test::random_floats(n * cols, 14, 2.f);
  const kernels::Clamp in{-1.5f, 1.2f}, out{-0.8f, 0.9f};
  std::vector<float> clamped_x = x;
  for (float& v : clamped_x) v = std::min(std::max(v, in.lo), in.hi);
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    kernels::PackedBf16 packed;
    kernels::pack_bf16(w.data(), rows, cols, cols, packed);
    std::vector<float> want(static_cast<size_t>(n * rows)), got(want.size());
    kernels::gemm(packed, clamped_x.data(), n, want.data());
    for (float& v : want) v = std::min(std::max(v, out.lo), out.hi);
    kernels::gemm(packed, x.data(), n, got.data(), in, out);
    int clamped_outputs = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << kernels::isa_name(isa) << " at " << i;
      clamped_outputs += got[i] == out.lo || got[i] == out.hi;
    }
    EXPECT_GT(clamped_outputs, 0);  // the output bounds were reached
  }
}

// SiLU as the GEMM stores equals the GEMM then kernels::silu, bit for bit, on every ISA, with
// output clamps and a partial last panel and tile.
TEST(Gemm, SiluOnTheStoresEqualsASeparatePass) {
  const int64_t n = 29, rows = 45, cols = 37;
  const std::vector<float> w = test::random_floats(rows * cols, 13, 0.3f);
  const std::vector<float> x = test::random_floats(n * cols, 14, 2.f);
  const kernels::Clamp in{-1.5f, 1.2f}, out{-0.8f, 0.9f};
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    kernels::PackedBf16 bf16;
    kernels::pack_bf16(w.data(), rows, cols, cols, bf16);
    const kernels::PackedInt8 int8 = kernels::pack_int8(f32_matrix_view(w.data(), rows, cols, "w"));
    for (const kernels::Clamp& out_clamp : {kernels::Clamp{}, out}) {
      std::vector<float> want(static_cast<size_t>(n * rows)), got(want.size());
      kernels::gemm(bf16, x.data(), n, want.data(), in, out_clamp);
      kernels::silu(want.data(), n * rows);
      kernels::gemm(bf16, x.data(), n, got.data(), in, out_clamp, kernels::Activation::silu);
      EXPECT_EQ(got, want) << "bf16 " << kernels::isa_name(isa);
      kernels::gemm_int8(int8, x.data(), n, want.data(), in, out_clamp);
      kernels::silu(want.data(), n * rows);
      kernels::gemm_int8(int8, x.data(), n, got.data(), in, out_clamp, kernels::Activation::silu);
      EXPECT_EQ(got, want) << "int8 " << kernels::isa_name(isa);
    }
  }
}

TEST(Gemm, PacksBf16WeightsExactly) {
  const Weight w = test::random_bf16_weight(5, 9, 5);
  const kernels::PackedBf16 packed = kernels::pack_bf16(w);
  const uint16_t* src = static_cast<const uint16_t*>(w.data);
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t c = 0; c < 9; ++c) {
      const uint32_t pair = packed.pairs[static_cast<size_t>(((r / 32) * packed.k_pairs + c / 2) * 32 + r % 32)];
      EXPECT_EQ(static_cast<uint16_t>(c % 2 ? pair >> 16 : pair), src[r * 9 + c]);
    }
}

// Bound: q, k, p and v are rounded to bf16 (relative error ≤ 2^-9 each). With unit-normal q, k
// and head_dim 32, scores have std ~5.7 and an absolute error ≲ 2·2^-9·|q||k| ≈ 0.13 in the worst
// case, ~0.02 typically; softmax turns a score error e into a relative weight error ~e, and the
// output (a convex mix of |v| ≲ 4) moves by ≲ 4·e. 0.05 is about 5× the typical estimate.
TEST(LongAttention, MatchesFloatReference) {
  kernels::LongAttentionShape s;
  s.queries = 70;
  s.keys = 83;
  s.heads = 4;
  s.kv_heads = 2;
  s.head_dim = 32;
  s.q_stride = s.out_stride = 4 * 32 + 3;
  s.kv_stride = 2 * 32 + 5;
  s.scale = 0.3f;
  const std::vector<float> q = test::random_floats(s.queries * s.q_stride, 6);
  const std::vector<float> k = test::random_floats(s.keys * s.kv_stride, 7);
  const std::vector<float> v = test::random_floats(s.keys * s.kv_stride, 8);
  std::vector<uint8_t> valid(static_cast<size_t>(s.keys), 1);
  for (int64_t j = 0; j < s.keys; j += 3) valid[j] = 0;
  for (const uint8_t* mask : {static_cast<const uint8_t*>(nullptr), static_cast<const uint8_t*>(valid.data())}) {
    std::vector<float> want(static_cast<size_t>(s.queries * s.out_stride), 0.f);
    kernels::attention_bidirectional_reference(s, q.data(), k.data(), v.data(), mask, want.data());
    for (kernels::Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      std::vector<float> got(want.size(), 0.f);
      kernels::attention_bidirectional(s, q.data(), k.data(), v.data(), mask, got.data());
      EXPECT_LE(max_abs_diff(got, want), 0.05f) << kernels::isa_name(isa) << (mask ? " masked" : "");
      EXPECT_LT(test::relative_l2(got, want), 0.01) << kernels::isa_name(isa) << (mask ? " masked" : "");
    }
  }
}

TEST(LongAttention, SoftmaxZeroesMaskedKeys) {
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    std::vector<float> s = test::random_floats(2 * 37, 9);
    std::vector<uint8_t> valid(37, 1);
    valid[0] = valid[20] = valid[36] = 0;
    kernels::softmax_rows(s.data(), 2, 37, 37, 1.f, valid.data());
    for (int r = 0; r < 2; ++r) {
      double sum = 0;
      for (int j = 0; j < 37; ++j) {
        if (!valid[j]) {
          EXPECT_EQ(s[r * 37 + j], 0.f);
        }
        sum += s[r * 37 + j];
      }
      EXPECT_NEAR(sum, 1.0, 1e-5) << kernels::isa_name(isa);
    }
    std::vector<uint8_t> none(37, 0);
    kernels::softmax_rows(s.data(), 1, 37, 37, 1.f, none.data());
    for (int j = 0; j < 37; ++j) EXPECT_EQ(s[j], 0.f);
  }
}

TEST(BatchOps, GeluTanhMulMatchesFormula) {
  const std::vector<float> gate = test::random_floats(1003, 10, 3.f), up = test::random_floats(1003, 11);
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    std::vector<float> got = gate;
    kernels::gelu_tanh_mul(got.data(), up.data(), static_cast<int64_t>(got.size()));
    for (size_t i = 0; i < gate.size(); ++i) {
      const double x = gate[i];
      const double want = 0.5 * x * (1 + std::tanh(0.7978845608028654 * (x + 0.044715 * x * x * x))) * up[i];
      ASSERT_NEAR(got[i], want, 1e-6 + 1e-5 * std::fabs(want)) << kernels::isa_name(isa) << " x=" << x;
    }
  }
}

TEST(BatchOps, SiluAndGluMatchFormula) {
  const int64_t rows = 5, width = 37;
  const std::vector<float> in = test::random_floats(rows * 2 * width, 12, 4.f);
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    std::vector<float> silu = in, glu(static_cast<size_t>(rows * width));
    kernels::silu(silu.data(), static_cast<int64_t>(silu.size()));
    kernels::glu_sigmoid(in.data(), rows, width, glu.data());
    for (size_t i = 0; i < in.size(); ++i) {
      const double want = in[i] / (1 + std::exp(-double(in[i])));
      ASSERT_NEAR(silu[i], want, 1e-6 + 1e-5 * std::fabs(want)) << kernels::isa_name(isa);
    }
    for (int64_t t = 0; t < rows; ++t)
      for (int64_t i = 0; i < width; ++i) {
        const double a = in[t * 2 * width + i], b = in[t * 2 * width + width + i];
        const double want = a / (1 + std::exp(-b));
        ASSERT_NEAR(glu[t * width + i], want, 1e-6 + 1e-5 * std::fabs(want)) << kernels::isa_name(isa);
      }
  }
}

// Float32 LayerNorm + ReLU against the double-precision formula, on odd widths and rows with a
// large common offset (the case a one-pass variance would get wrong).
TEST(BatchOps, LayerNormReluMatchesDoubleFormula) {
  for (const int64_t width : {1, 7, 32, 128, 131}) {
    const int64_t rows = 3;
    std::vector<float> in = test::random_floats(rows * width, 13, 2.f);
    for (int64_t i = 0; i < width; ++i) in[static_cast<size_t>(2 * width + i)] += 100.f;
    const std::vector<float> g = test::random_floats(width, 14, 1.f);
    for (kernels::Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      std::vector<float> got = in;
      kernels::layer_norm_relu_rows(got.data(), rows, width, g.data(), 1e-6f);
      for (int64_t r = 0; r < rows; ++r) {
        double mean = 0, var = 0;
        for (int64_t i = 0; i < width; ++i) mean += in[r * width + i];
        mean /= width;
        for (int64_t i = 0; i < width; ++i) var += (in[r * width + i] - mean) * (in[r * width + i] - mean);
        const double inv = 1 / std::sqrt(var / width + 1e-6);
        for (int64_t i = 0; i < width; ++i) {
          const double want = std::max(0.0, (in[r * width + i] - mean) * inv * g[i]);
          ASSERT_NEAR(got[r * width + i], want, 2e-5 * (1 + std::fabs(want)))
              << kernels::isa_name(isa) << " width " << width << " row " << r << " i " << i;
        }
      }
    }
  }
}

// The row helpers give exactly the plain loops' numbers (no fused multiply-add), odd lengths
// included, so the exact encoder numerics can use them.
TEST(BatchOps, RowHelpersEqualThePlainLoops) {
  for (const int64_t n : {1, 15, 16, 17, 1027}) {
    const std::vector<float> a = test::random_floats(n, 15, 3.f), b = test::random_floats(n, 16, 3.f);
    const std::vector<float> base = test::random_floats(n, 17, 3.f);
    std::vector<float> clamped(n), added(n), multiplied(n);
    for (int64_t i = 0; i < n; ++i) {
      clamped[i] = std::clamp(a[i], -1.5f, 2.f);
      added[i] = base[i] + 0.37f * b[i];
      multiplied[i] = base[i] + a[i] * b[i];
    }
    for (kernels::Isa isa : test::supported_isas()) {
      test::IsaScope scope(isa);
      std::vector<float> got(n);
      kernels::clamp_copy(a.data(), got.data(), n, -1.5f, 2.f);
      EXPECT_EQ(got, clamped) << kernels::isa_name(isa) << " n " << n;
      got = base;
      kernels::add_scaled(got.data(), b.data(), 0.37f, n);
      EXPECT_EQ(got, added) << kernels::isa_name(isa) << " n " << n;
      got = base;
      kernels::multiply_add(got.data(), a.data(), b.data(), n);
      EXPECT_EQ(got, multiplied) << kernels::isa_name(isa) << " n " << n;
    }
  }
}

// Odd half sizes (masked tails), one angle set for all vectors and two alternating (2-D RoPE).
TEST(BatchOps, RopeApplyVectorsEqualsRopeApplyPerVector) {
  for (const int64_t dim : {2, 30, 32, 34, 64}) {
    for (const int64_t sets : {1, 2}) {
      const int64_t count = 7;
      const std::vector<float> x = test::random_floats(count * dim, 18, 2.f);
      const std::vector<float> cos = test::random_floats(sets * dim / 2, 19), sin = test::random_floats(sets * dim / 2, 20);
      std::vector<float> want = x;
      for (int64_t v = 0; v < count; ++v)
        kernels::rope_apply(want.data() + v * dim, dim, cos.data() + (v % sets) * dim / 2, sin.data() + (v % sets) * dim / 2);
      for (kernels::Isa isa : test::supported_isas()) {
        test::IsaScope scope(isa);
        std::vector<float> got = x;
        kernels::rope_apply_vectors(got.data(), count, dim, sets, cos.data(), sin.data());
        EXPECT_EQ(got, want) << kernels::isa_name(isa) << " dim " << dim << " sets " << sets;
      }
    }
  }
}

}  // namespace
}  // namespace gemma4
