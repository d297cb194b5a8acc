#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "base/error.h"
#include "base/thread_pool.h"
#include "kernel_test_util.h"
#include "kernels/isa.h"
#include "kernels/matmul.h"
#include "tensor/quant.h"

using namespace gemma4;
using gemma4::test::IsaScope;
using gemma4::test::random_bf16_weight;
using gemma4::test::random_floats;
using gemma4::test::relative_l2;

namespace {

struct Shape {
  int64_t rows, cols, n;
};

// Odd sizes on purpose: rows not a multiple of the row tile (16) or token tile (4), columns
// with SIMD tails, n = 1 (decode), 3, 7 (batched decode), 64, 129 (prefill).
const Shape kFloatShapes[] = {{1, 1, 1},    {5, 7, 3},     {17, 31, 1},  {33, 100, 7},
                              {67, 257, 64}, {19, 48, 129}, {130, 96, 5}, {3, 1000, 2}};
// Block formats need cols % 32 == 0; odd block counts exercise the single-block tails.
const Shape kBlockShapes[] = {{1, 32, 1},   {5, 96, 3},    {17, 64, 1},  {33, 160, 7},
                              {67, 256, 64}, {19, 32, 129}, {130, 224, 5}, {3, 1024, 2},
                              // Q4I needs rows % 16 == 0: these exercise it with every token count
                              // (batched decode: 2, 3 and 4 tokens).
                              {16, 32, 1},  {48, 96, 9},   {32, 160, 129}, {64, 64, 7},
                              {32, 96, 4},  {16, 64, 2},   {48, 160, 3}};

std::vector<float> run_matmul(const Weight& w, const std::vector<float>& x, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n * w.rows), NAN);
  kernels::matmul(w, x.data(), n, y.data());
  return y;
}

std::vector<float> run_reference(const Weight& w, const std::vector<float>& x, int64_t n) {
  std::vector<float> y(static_cast<size_t>(n * w.rows), NAN);
  kernels::matmul_reference(w, x.data(), n, y.data());
  return y;
}

// Σ|w||x| for each output: the scale of the rounding error a reordered float sum may have.
std::vector<float> abs_products(const Weight& w, const std::vector<float>& x, int64_t n) {
  std::vector<float> row(static_cast<size_t>(w.cols)), out(static_cast<size_t>(n * w.rows));
  for (int64_t r = 0; r < w.rows; ++r) {
    kernels::dequantize_row_reference(w, r, row.data());
    for (int64_t t = 0; t < n; ++t) {
      double s = 0;
      for (int64_t i = 0; i < w.cols; ++i) s += std::fabs(row[i] * x[t * w.cols + i]);
      out[t * w.rows + r] = static_cast<float>(s);
    }
  }
  return out;
}

// Float formats compute exact products with float32 sums: only the order differs.
void expect_close_to_reference(const Weight& w, int64_t n, uint32_t seed) {
  const auto x = random_floats(n * w.cols, seed);
  const auto ref = run_reference(w, x, n);
  const auto scale = abs_products(w, x, n);
  for (auto isa : test::supported_isas()) {
    IsaScope scope(isa);
    const auto y = run_matmul(w, x, n);
    for (size_t i = 0; i < y.size(); ++i)
      ASSERT_NEAR(y[i], ref[i], 1e-5f * scale[i] + 1e-30f)
          << kernels::isa_name(isa) << " " << weight_format_name(w.format) << " " << w.rows << "x" << w.cols
          << " n=" << n << " at " << i;
  }
}

TEST(Matmul, FloatFormatsMatchReferenceOnEveryIsa) {
  uint32_t seed = 1;
  for (const Shape& s : kFloatShapes) {
    const Weight bf16 = random_bf16_weight(s.rows, s.cols, seed++);
    expect_close_to_reference(bf16, s.n, seed++);
    expect_close_to_reference(kernels::convert_weight(bf16, WeightFormat::f32), s.n, seed++);
    expect_close_to_reference(kernels::convert_weight(bf16, WeightFormat::f16), s.n, seed++);
  }
}

// Block formats: every ISA does the same integer block dot products on the same int8
// activations, so they agree with the scalar kernel up to float summation order.
TEST(Matmul, BlockFormatsAgreeAcrossIsas) {
  uint32_t seed = 100;
  for (const Shape& s : kBlockShapes) {
    const Weight bf16 = random_bf16_weight(s.rows, s.cols, seed++);
    const auto x = random_floats(s.n * s.cols, seed++);
    for (auto format : {WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4r, WeightFormat::q4i, WeightFormat::q8i,
                        WeightFormat::q4s}) {
      if (!weight_format_fits(format, s.rows, s.cols)) continue;
      const Weight w = kernels::convert_weight(bf16, format);
      const auto scale = abs_products(w, x, s.n);
      std::vector<float> scalar;
      {
        IsaScope scope(kernels::Isa::scalar);
        scalar = run_matmul(w, x, s.n);
      }
      for (auto isa : test::supported_isas()) {
        IsaScope scope(isa);
        const auto y = run_matmul(w, x, s.n);
        for (size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], scalar[i], 1e-5f * scale[i] + 1e-30f)
              << kernels::isa_name(isa) << " " << weight_format_name(format) << " " << s.rows << "x" << s.cols
              << " n=" << s.n << " at " << i;
      }
    }
  }
}

// Against the float32 reference on the same (quantized) weights, the only error left is the
// int8 activation rounding: per element at most half a step of amax/127 per 32-block, about
// 0.5% of the activations' RMS for normal data, so about 0.5% of the outputs' L2 norm.
TEST(Matmul, BlockFormatsActivationQuantizationErrorIsSmall) {
  const Weight bf16 = random_bf16_weight(256, 1536, 7);
  const int64_t n = 5;
  const auto x = random_floats(n * 1536, 8);
  for (auto format : {WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4r, WeightFormat::q4i, WeightFormat::q8i,
                        WeightFormat::q4s}) {
    const Weight w = kernels::convert_weight(bf16, format);
    const auto ref = run_reference(w, x, n);
    for (auto isa : test::supported_isas()) {
      IsaScope scope(isa);
      const double err = relative_l2(run_matmul(w, x, n), ref);
      RecordProperty(std::string(weight_format_name(format)) + "_" + kernels::isa_name(isa), std::to_string(err));
      EXPECT_LT(err, 0.01) << weight_format_name(format) << " " << kernels::isa_name(isa);
      EXPECT_GT(err, 0.0) << "activations were expected to be quantized";
    }
  }
}

// End to end against the bf16 weights in float32: weight + activation quantization.
// Q8_0 weights lose about 0.5% (half a step of amax/127), Q4_0 about 8% (amax/8 steps,
// normal data: amax ≈ 2.1σ over 32 values, error σ ≈ step/√12 ≈ 0.076σ).
TEST(Matmul, QuantizedFormatsErrorAgainstBf16) {
  const Weight bf16 = random_bf16_weight(512, 1536, 11);
  const int64_t n = 3;
  const auto x = random_floats(n * 1536, 12);
  const auto ref = run_reference(bf16, x, n);
  const double q8 = relative_l2(run_matmul(kernels::convert_weight(bf16, WeightFormat::q8_0), x, n), ref);
  const double q4 = relative_l2(run_matmul(kernels::convert_weight(bf16, WeightFormat::q4_0), x, n), ref);
  const double q4s = relative_l2(run_matmul(kernels::convert_weight(bf16, WeightFormat::q4s), x, n), ref);
  RecordProperty("q8_0_rel_l2", std::to_string(q8));
  RecordProperty("q4_0_rel_l2", std::to_string(q4));
  RecordProperty("q4s_rel_l2", std::to_string(q4s));
  EXPECT_LT(q8, 0.01);
  EXPECT_LT(q4, 0.10);
  EXPECT_GT(q4, q8);
  // Q4S's 8-bit block scales (rounded up, nibbles chosen for them) cost little next to the
  // 4-bit steps themselves: within 5% of Q4_0's error on the same weights.
  EXPECT_LT(q4s, 1.05 * q4);
}

class Bf16ModeScope {
 public:
  explicit Bf16ModeScope(kernels::Bf16Mode mode) : saved_(kernels::bf16_mode()) { kernels::set_bf16_mode(mode); }
  ~Bf16ModeScope() { kernels::set_bf16_mode(saved_); }

 private:
  kernels::Bf16Mode saved_;
};

// Bf16Mode::fast rounds the activations to bf16 (where the CPU has AVX512-BF16, for batches of
// kBf16FastMinTokens or more): then the result is the reference on rounded activations,
// within 2^-9-ish of the exact path. Elsewhere it is the exact path.
TEST(Matmul, Bf16FastModeRoundsActivationsOnly) {
  Bf16ModeScope fast(kernels::Bf16Mode::fast);
  uint32_t seed = 300;
  for (const Shape& s : {Shape{67, 257, 64}, Shape{19, 48, 129}, Shape{33, 100, 8}, Shape{5, 1536, 7}}) {
    const Weight w = random_bf16_weight(s.rows, s.cols, seed++);
    const auto x = random_floats(s.n * s.cols, seed++);
    std::vector<float> x_bf16(x.size());
    for (size_t i = 0; i < x.size(); ++i) x_bf16[i] = bf16_to_f32(f32_to_bf16(x[i]));
    const auto exact = run_reference(w, x, s.n);
    const auto rounded = run_reference(w, x_bf16, s.n);
    const auto scale = abs_products(w, x, s.n);
    for (auto isa : test::supported_isas()) {
      IsaScope scope(isa);
      const bool uses_bf16 = isa == kernels::Isa::avx512 && s.n >= kernels::kBf16FastMinTokens;
      const auto& expected = uses_bf16 ? rounded : exact;
      const auto y = run_matmul(w, x, s.n);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], expected[i], 1e-5f * scale[i] + 1e-30f)
            << kernels::isa_name(isa) << " " << s.rows << "x" << s.cols << " n=" << s.n << " at " << i;
      EXPECT_LT(relative_l2(y, exact), 0.01);
      if (uses_bf16) {
        EXPECT_GT(relative_l2(y, exact), 0.0) << "expected the bf16 dot-product kernel";
      }
    }
  }
}

TEST(Matmul, ResultDoesNotDependOnThreadCount) {
  const Weight bf16 = random_bf16_weight(304, 512, 21);
  const auto x = random_floats(9 * 512, 22);
  for (auto format : {WeightFormat::bf16, WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4r, WeightFormat::q4i, WeightFormat::q8i}) {
    const Weight w = kernels::convert_weight(bf16, format);
    set_num_threads(1);
    const auto one = run_matmul(w, x, 9);
    set_num_threads(2);
    const auto two = run_matmul(w, x, 9);
    set_num_threads(0);
    EXPECT_EQ(one, two) << weight_format_name(format);
  }
}

TEST(Matmul, DequantizeRowMatchesReference) {
  const Weight bf16 = random_bf16_weight(32, 64, 31);
  for (auto format : {WeightFormat::bf16, WeightFormat::f32, WeightFormat::q8_0, WeightFormat::q4_0, WeightFormat::q4r,
                      WeightFormat::q4i, WeightFormat::q8i}) {
    const Weight w = kernels::convert_weight(bf16, format);
    std::vector<float> a(64), b(64);
    kernels::dequantize_row(w, 21, a.data());
    kernels::dequantize_row_reference(w, 21, b.data());
    EXPECT_EQ(a, b);
  }
  std::vector<float> out(64);
  EXPECT_THROW(kernels::dequantize_row(bf16, 32, out.data()), Error);
}

// Q4R holds Q4_0's values and scales, repacked: the same weights, and (the same integer
// block sums scaled in the same order) the same matmul results on every ISA.
TEST(ConvertWeight, Q4rIsQ4_0Repacked) {
  const Weight bf16 = random_bf16_weight(45, 192, 61);
  const Weight q4 = kernels::convert_weight(bf16, WeightFormat::q4_0);
  const Weight q4r = kernels::convert_weight(bf16, WeightFormat::q4r);
  const Weight repacked = kernels::convert_weight(q4, WeightFormat::q4r);
  ASSERT_EQ(q4r.total_bytes(), q4.total_bytes());
  EXPECT_EQ(0, std::memcmp(q4r.data, repacked.data, static_cast<size_t>(q4r.total_bytes())));
  std::vector<float> a(192), b(192);
  for (int64_t r = 0; r < 45; ++r) {
    kernels::dequantize_row(q4, r, a.data());
    kernels::dequantize_row(q4r, r, b.data());
    ASSERT_EQ(a, b) << "row " << r;
  }
  const auto x = random_floats(6 * 192, 62);
  for (auto isa : test::supported_isas()) {
    IsaScope scope(isa);
    EXPECT_EQ(run_matmul(q4, x, 6), run_matmul(q4r, x, 6)) << kernels::isa_name(isa);
  }
}

// Q4I holds Q4_0's values and scales interleaved over 16 rows: the same weights.
TEST(ConvertWeight, Q4iIsQ4_0Interleaved) {
  const Weight bf16 = random_bf16_weight(48, 192, 71);
  const Weight q4 = kernels::convert_weight(bf16, WeightFormat::q4_0);
  const Weight q4i = kernels::convert_weight(bf16, WeightFormat::q4i);
  const Weight from_q4 = kernels::convert_weight(q4, WeightFormat::q4i);
  ASSERT_EQ(q4i.total_bytes(), q4.total_bytes());
  EXPECT_EQ(0, std::memcmp(q4i.data, from_q4.data, static_cast<size_t>(q4i.total_bytes())));
  std::vector<float> a(192), b(192);
  for (int64_t r = 0; r < 48; ++r) {
    kernels::dequantize_row(q4, r, a.data());
    kernels::dequantize_row(q4i, r, b.data());
    ASSERT_EQ(a, b) << "row " << r;
  }
  EXPECT_THROW(kernels::convert_weight(random_bf16_weight(40, 64, 72), WeightFormat::q4i), Error);
}

TEST(ConvertWeight, Q8iIsQ8_0Interleaved) {
  const Weight bf16 = random_bf16_weight(32, 96, 73);
  const Weight q8 = kernels::convert_weight(bf16, WeightFormat::q8_0);
  const Weight q8i = kernels::convert_weight(bf16, WeightFormat::q8i);
  const Weight from_q8 = kernels::convert_weight(q8, WeightFormat::q8i);
  ASSERT_EQ(q8i.total_bytes(), q8.total_bytes());
  EXPECT_EQ(0, std::memcmp(q8i.data, from_q8.data, static_cast<size_t>(q8i.total_bytes())));
  std::vector<float> a(96), b(96);
  for (int64_t r = 0; r < 32; ++r) {
    kernels::dequantize_row(q8, r, a.data());
    kernels::dequantize_row(q8i, r, b.data());
    ASSERT_EQ(a, b) << "row " << r;
  }
}

TEST(ConvertWeight, RuntimeFormatPicksALayoutThatFits) {
  using kernels::runtime_format;
  for (auto isa : test::supported_isas()) {
    IsaScope scope(isa);
    const bool avx512 = isa == kernels::Isa::avx512;
    EXPECT_EQ(runtime_format(WeightFormat::q4_0, 1536, 6144), avx512 ? WeightFormat::q4s : WeightFormat::q4r);
    // Stored Q4_0 (GGUF) is only repacked, never requantized.
    EXPECT_EQ(kernels::repacked_format(WeightFormat::q4_0, 1536, 6144), avx512 ? WeightFormat::q4i : WeightFormat::q4r);
    EXPECT_EQ(runtime_format(WeightFormat::q8_0, 1536, 6144), avx512 ? WeightFormat::q8i : WeightFormat::q8_0);
    EXPECT_EQ(runtime_format(WeightFormat::q4_0, 40, 64), WeightFormat::q4r);
    EXPECT_EQ(runtime_format(WeightFormat::q4_0, 40, 96), WeightFormat::q4_0);
    EXPECT_EQ(runtime_format(WeightFormat::q4_0, 64, 16), WeightFormat::bf16);
    EXPECT_EQ(runtime_format(WeightFormat::q8_0, 40, 96), WeightFormat::q8_0);
    EXPECT_EQ(runtime_format(WeightFormat::bf16, 64, 16), WeightFormat::bf16);
    for (auto [rows, cols] : {std::pair<int64_t, int64_t>{48, 192}, {40, 96}, {64, 16}})
      for (auto f : {WeightFormat::q4_0, WeightFormat::q8_0}) {
        EXPECT_TRUE(weight_format_fits(runtime_format(f, rows, cols), rows, cols));
        EXPECT_TRUE(weight_format_fits(kernels::repacked_format(f, rows, cols), rows, cols));
      }
  }
}

TEST(ConvertWeight, BlockFormatsRequireWholeBlocks) {
  EXPECT_THROW(kernels::convert_weight(random_bf16_weight(4, 96, 43), WeightFormat::q4r), Error);
  const Weight w = random_bf16_weight(4, 40, 41);
  EXPECT_THROW(kernels::convert_weight(w, WeightFormat::q8_0), Error);
  EXPECT_THROW(kernels::convert_weight(w, WeightFormat::q4_0), Error);
  const Weight q = kernels::convert_weight(random_bf16_weight(4, 64, 42), WeightFormat::q4_0);
  EXPECT_THROW(kernels::convert_weight(q, WeightFormat::q8_0), Error);
}

void expect_conversion_matches_reference(const Weight& bf16);

// Every ISA's quantizer is bit-identical to the reference one, ties and signs included.
TEST(ConvertWeight, MatchesReferenceQuantizersOnEveryIsa) {
  for (auto isa : test::supported_isas()) {
    SCOPED_TRACE(kernels::isa_name(isa));
    IsaScope scope(isa);
    expect_conversion_matches_reference(random_bf16_weight(37, 96, 51));
    // Values on rounding ties (k + 1/2 steps), equal magnitudes of both signs, zero blocks.
    Weight w = random_bf16_weight(4, 64, 52);
    auto* v = const_cast<uint16_t*>(static_cast<const uint16_t*>(w.data));
    for (int i = 0; i < 32; ++i) v[i] = f32_to_bf16(i == 0 ? 127.f : static_cast<float>(i - 16) + 0.5f);
    for (int i = 32; i < 64; ++i) v[i] = f32_to_bf16(static_cast<float>(i % 32 - 16) * 0.5f);
    for (int i = 64; i < 128; ++i) v[i] = f32_to_bf16(i % 2 ? 1.f : -1.f);
    for (int i = 128; i < 192; ++i) v[i] = 0;
    for (int i = 192; i < 256; ++i) v[i] = f32_to_bf16((i % 3 - 1) * 127.f / 254.f * 3.f);
    expect_conversion_matches_reference(w);
  }
}

// The Q4S group quantizer from bf16 (AVX-512) writes the bytes the reference writes.
TEST(ConvertWeight, Q4sMatchesReferenceQuantizerOnEveryIsa) {
  Weight w = random_bf16_weight(32, 96, 54);
  auto* v = const_cast<uint16_t*>(static_cast<const uint16_t*>(w.data));
  for (int i = 0; i < 32; ++i) v[i] = f32_to_bf16(static_cast<float>(i - 16) + 0.5f);  // ties
  for (int i = 32; i < 64; ++i) v[i] = f32_to_bf16(i % 2 ? 1.f : -1.f);                // equal magnitudes
  for (int i = 96; i < 192; ++i) v[i] = 0;                                              // a zero row
  for (int i = 192; i < 224; ++i) v[i] = f32_to_bf16(1e-3f * static_cast<float>(i % 7 - 3));  // a tiny block
  std::vector<float> rows(static_cast<size_t>(16 * w.cols));
  std::vector<uint8_t> want(static_cast<size_t>(q4s_group_bytes(w.cols)));
  for (auto isa : test::supported_isas()) {
    SCOPED_TRACE(kernels::isa_name(isa));
    IsaScope scope(isa);
    const Weight q = kernels::convert_weight(w, WeightFormat::q4s);
    for (int64_t g = 0; g < w.rows / 16; ++g) {
      for (int64_t r = 0; r < 16; ++r) kernels::dequantize_row_reference(w, g * 16 + r, rows.data() + r * w.cols);
      quantize_q4s_group(rows.data(), want.data(), w.cols);
      ASSERT_EQ(0, std::memcmp(want.data(), static_cast<const uint8_t*>(q.data) + g * want.size(), want.size()))
          << "group " << g;
    }
  }
}

TEST(ConvertWeight, ZeroRowsStayZero) {
  Weight w = random_bf16_weight(2, 32, 53);
  auto* v = const_cast<uint16_t*>(static_cast<const uint16_t*>(w.data));
  for (int i = 0; i < 64; ++i) v[i] = 0;
  std::vector<float> out(32);
  for (auto format : {WeightFormat::q8_0, WeightFormat::q4_0}) {
    kernels::dequantize_row(kernels::convert_weight(w, format), 1, out.data());
    for (float f : out) EXPECT_EQ(f, 0.f);
  }
}

void expect_conversion_matches_reference(const Weight& bf16) {
  const int64_t blocks = bf16.cols / 32;
  const Weight q8 = kernels::convert_weight(bf16, WeightFormat::q8_0);
  const Weight q4 = kernels::convert_weight(bf16, WeightFormat::q4_0);
  ASSERT_EQ(q8.total_bytes(), bf16.rows * blocks * 34);
  ASSERT_EQ(q4.total_bytes(), bf16.rows * blocks * 18);
  std::vector<float> row(static_cast<size_t>(bf16.cols));
  std::vector<BlockQ8_0> b8(static_cast<size_t>(blocks));
  std::vector<BlockQ4_0> b4(static_cast<size_t>(blocks));
  for (int64_t r = 0; r < bf16.rows; ++r) {
    kernels::dequantize_row_reference(bf16, r, row.data());
    quantize_q8_0(row.data(), b8.data(), bf16.cols);
    quantize_q4_0(row.data(), b4.data(), bf16.cols);
    EXPECT_EQ(0, std::memcmp(b8.data(), static_cast<const BlockQ8_0*>(q8.data) + r * blocks, blocks * sizeof(BlockQ8_0)))
        << "q8_0 row " << r;
    EXPECT_EQ(0, std::memcmp(b4.data(), static_cast<const BlockQ4_0*>(q4.data) + r * blocks, blocks * sizeof(BlockQ4_0)))
        << "q4_0 row " << r;
  }
}

TEST(Isa, ParseAndSupport) {
  EXPECT_EQ(kernels::parse_isa("scalar"), kernels::Isa::scalar);
  EXPECT_EQ(kernels::parse_isa("avx2"), kernels::Isa::avx2);
  EXPECT_EQ(kernels::parse_isa("avx512"), kernels::Isa::avx512);
  EXPECT_THROW(kernels::parse_isa("sse9"), Error);
  EXPECT_TRUE(kernels::isa_supported(kernels::Isa::scalar));
  EXPECT_TRUE(kernels::isa_supported(kernels::best_supported_isa()));
}

TEST(Isa, EnvironmentRequestIsParsedAndClamped) {
  EXPECT_EQ(kernels::isa_for_request(nullptr), kernels::best_supported_isa());
  EXPECT_EQ(kernels::isa_for_request(""), kernels::best_supported_isa());
  EXPECT_EQ(kernels::isa_for_request("scalar"), kernels::Isa::scalar);
  EXPECT_THROW(kernels::isa_for_request("neon"), Error);
  if (!kernels::isa_supported(kernels::Isa::avx512)) {
    EXPECT_THROW(kernels::isa_for_request("avx512"), Error);
  }
}

}  // namespace

// Several weights on one input give exactly what one matmul per weight gives (the same
// kernels on the same quantized activations), also when their formats need different forms
// of the input (then it runs them one by one) and when only the reference can serve one (f16).
TEST(Matmul, SharedInputEqualsOneCallPerWeight) {
  for (auto isa : test::supported_isas()) {
    IsaScope scope(isa);
    for (int64_t n : {1, 3, 40}) {
      SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n));
      // a is big enough that the pass is spread over the threads.
      const Weight a = kernels::convert_weight(random_bf16_weight(1024, 256, 61), WeightFormat::q4s);
      const Weight b = kernels::convert_weight(random_bf16_weight(16, 256, 62), WeightFormat::q4i);
      const Weight c = kernels::convert_weight(random_bf16_weight(37, 256, 63), WeightFormat::q8_0);
      const Weight d = kernels::convert_weight(random_bf16_weight(21, 256, 64), WeightFormat::f16);
      const Weight e = random_bf16_weight(5, 256, 65);
      const auto x = random_floats(n * 256, 66);
      for (const std::vector<const Weight*>& set : std::vector<std::vector<const Weight*>>{
               {&a, &b, &c}, {&a, &d}, {&e, &a, &c, &d}, {&c}}) {
        std::vector<std::vector<float>> got, want;
        std::vector<kernels::MatmulTarget> targets;
        for (const Weight* w : set) {
          got.emplace_back(static_cast<size_t>(n * w->rows), NAN);
          want.push_back(run_matmul(*w, x, n));
        }
        for (size_t i = 0; i < set.size(); ++i) targets.push_back({set[i], got[i].data()});
        kernels::matmul_shared_input(x.data(), n, targets.data(), static_cast<int>(targets.size()));
        for (size_t i = 0; i < set.size(); ++i) EXPECT_EQ(got[i], want[i]) << weight_format_name(set[i]->format);
      }
    }
  }
}
