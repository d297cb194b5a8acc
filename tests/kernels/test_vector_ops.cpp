// kernels/vector_ops.h on every ISA this CPU runs, against the plain reference code
// (kernels/reference_ops.h and the obvious loops), on random values and odd lengths.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/matmul_internal.h"
#include "kernels/reference_ops.h"
#include "kernels/vector_ops.h"
#include "tensor/dtype.h"

using namespace gemma4;
using namespace gemma4::test;

namespace {

// Lengths around the 16-float vectors, plus model-sized ones.
const int64_t kLengths[] = {1, 5, 15, 16, 17, 31, 33, 100, 256, 1536, 70000};

// Float32 rounding of a sum of n products: a few ulp times sqrt(n) relative to Σ|a·b|.
constexpr double kSumTolerance = 1e-5;

}  // namespace

TEST(VectorOps, DotAndAxpyMatchPlainLoops) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int64_t n : kLengths) {
      SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n));
      const auto a = random_floats(n, 1), b = random_floats(n, 2);
      double want = 0, magnitude = 0;
      for (int64_t i = 0; i < n; ++i) {
        want += double(a[i]) * b[i];
        magnitude += std::fabs(double(a[i]) * b[i]);
      }
      EXPECT_NEAR(kernels::dot(a.data(), b.data(), n), want, kSumTolerance * magnitude);
      auto y = b;
      kernels::axpy(0.75f, a.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(y[i], b[i] + 0.75f * a[i], 1e-6 * (1 + std::fabs(b[i])));
    }
  }
}

TEST(VectorOps, RmsNormRowsMatchesReference) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int64_t n : {int64_t{7}, int64_t{16}, int64_t{33}, int64_t{256}, int64_t{1536}}) {
      for (bool scaled : {true, false}) {
        SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n));
        const int64_t rows = n < 100 ? 300 : 50;  // enough rows to take the threaded path
        const auto x = random_floats(rows * n, 3, 2.f), w = random_floats(n, 4);
        std::vector<float> got(x.size()), want(x.size());
        kernels::rms_norm_rows(x.data(), scaled ? w.data() : nullptr, rows, n, 1e-6, got.data());
        for (int64_t r = 0; r < rows; ++r)
          kernels::rms_norm(x.data() + r * n, scaled ? w.data() : nullptr, n, 1e-6, want.data() + r * n);
        EXPECT_LT(relative_l2(got, want), 1e-6);
        auto inplace = x;
        kernels::rms_norm_rows(inplace.data(), scaled ? w.data() : nullptr, rows, n, 1e-6, inplace.data());
        EXPECT_EQ(inplace, got);
      }
    }
  }
}

// Narrow rows are normed 16 at a time on AVX-512: the same bits as one row per call, for whole
// and partial groups of 16 and the widths around one vector.
TEST(VectorOps, RmsNormRowsEqualsOneRowPerCall) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int64_t n : {int64_t{7}, int64_t{16}, int64_t{38}, int64_t{64}, int64_t{65}}) {
      for (int64_t rows : {int64_t{15}, int64_t{16}, int64_t{41}}) {
        SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n) + " rows=" + std::to_string(rows));
        const auto x = random_floats(rows * n, 5, 3.f), w = random_floats(n, 6);
        std::vector<float> got(x.size()), want(x.size());
        kernels::rms_norm_rows(x.data(), w.data(), rows, n, 1e-6, got.data());
        for (int64_t r = 0; r < rows; ++r) kernels::rms_norm_rows(x.data() + r * n, w.data(), 1, n, 1e-6, want.data() + r * n);
        EXPECT_EQ(got, want);
      }
    }
  }
}

TEST(VectorOps, GeluMulAndSoftcapMatchReference) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int64_t n : kLengths) {
      SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " n=" + std::to_string(n));
      // Wide range: the tanh saturates on both sides and is near-linear around 0.
      auto g = random_floats(n, 5, 4.f);
      const auto u = random_floats(n, 6);
      auto want = g;
      for (int64_t i = 0; i < n; ++i) want[i] = kernels::gelu_tanh(g[i]) * u[i];
      kernels::gelu_tanh_mul(g.data(), u.data(), n);
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(g[i], want[i], 1e-6 * (1 + std::fabs(want[i]))) << i;

      auto x = random_floats(n, 7, 40.f);
      auto capped = x;
      kernels::softcap_inplace(capped.data(), n, 30.f);
      kernels::softcap(x.data(), n, 30.f);
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(x[i], capped[i], 30 * 2e-7 + 1e-6 * std::fabs(capped[i])) << i;
    }
  }
}

TEST(VectorOps, AttendQueryMatchesSoftmaxOfDots) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int64_t count : {1, 3, 17, 600}) {
      for (int64_t dim : {8, 33, 256}) {
        SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " count=" + std::to_string(count) +
                     " dim=" + std::to_string(dim));
        const auto q = random_floats(dim, 8), kv = random_floats(2 * count * dim, 9);
        std::vector<const float*> keys, values;
        for (int64_t j = 0; j < count; ++j) {
          keys.push_back(kv.data() + j * dim);
          values.push_back(kv.data() + (count + j) * dim);
        }
        const float scale = 0.3f;
        std::vector<float> scores(count), want(dim, 0.f), got(dim), scratch(count);
        for (int64_t j = 0; j < count; ++j) {
          double s = 0;
          for (int64_t d = 0; d < dim; ++d) s += double(q[d]) * keys[j][d];
          scores[j] = static_cast<float>(scale * s);
        }
        kernels::softmax_inplace(scores.data(), count);
        for (int64_t j = 0; j < count; ++j)
          for (int64_t d = 0; d < dim; ++d) want[d] += scores[j] * values[j][d];
        kernels::attend_query(q.data(), keys.data(), values.data(), count, dim, scale, got.data(), scratch.data());
        EXPECT_LT(relative_l2(got, want), 1e-5);
      }
    }
  }
}

// attend_heads (several query heads sharing keys and values, as grouped-query attention
// does) equals attend_query per head, for every head count the kernels specialize (1..8),
// more heads than one call takes (12), and dims with and without the 16-float fast path
// (48, 112: fewer 16-column slices than one register tile of the value pass, or a remainder).
// Counts that are not multiples of the 4 keys scored together leave 1, 2 or 3 in a last tile.
TEST(VectorOps, AttendHeadsMatchesAttendQueryPerHead) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int heads : {1, 2, 3, 4, 5, 6, 7, 8, 12}) {
      for (int64_t count : {1, 2, 3, 6, 17, 300}) {
        for (int64_t dim : {33, 48, 112, 256, 512}) {
          SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " heads=" + std::to_string(heads) +
                       " count=" + std::to_string(count) + " dim=" + std::to_string(dim));
          const int64_t stride = dim + 5;  // rows of heads need not be adjacent
          const auto q = random_floats(heads * stride, 21), kv = random_floats(2 * count * dim, 22);
          std::vector<const float*> keys, values;
          for (int64_t j = 0; j < count; ++j) {
            keys.push_back(kv.data() + j * dim);
            values.push_back(kv.data() + (count + j) * dim);
          }
          std::vector<float> got(heads * stride, 0.f), want(heads * stride, 0.f), scratch(heads * count);
          for (int g = 0; g < heads; ++g)
            kernels::attend_query(q.data() + g * stride, keys.data(), values.data(), count, dim, 0.4f,
                                  want.data() + g * stride, scratch.data());
          kernels::attend_heads(q.data(), stride, heads, keys.data(), values.data(), count, dim, 0.4f, got.data(),
                                stride, scratch.data());
          EXPECT_LT(relative_l2(got, want), 1e-5);
        }
      }
    }
  }
}

// A head's output does not depend on how many heads one call takes (decode splits a KV head's
// query heads over threads, prefill does not; the same rows must get the same bits): 8 heads
// at once equal calls of 1, 2, 3 and 4 heads.
TEST(VectorOps, AttendHeadsDoesNotDependOnHeadsPerCall) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int64_t count : {5, 300}) {
      for (int64_t dim : {48, 256}) {
        SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " count=" + std::to_string(count) +
                     " dim=" + std::to_string(dim));
        const int heads = 8;
        const auto q = random_floats(heads * dim, 41), kv = random_floats(2 * count * dim, 42);
        std::vector<const float*> keys, values;
        for (int64_t j = 0; j < count; ++j) {
          keys.push_back(kv.data() + j * dim);
          values.push_back(kv.data() + (count + j) * dim);
        }
        std::vector<float> want(heads * dim), scratch(heads * count);
        kernels::attend_heads(q.data(), dim, heads, keys.data(), values.data(), count, dim, 0.5f, want.data(), dim,
                              scratch.data());
        for (int per_call : {1, 2, 3, 4}) {
          std::vector<float> got(heads * dim);
          for (int h0 = 0; h0 < heads; h0 += per_call)
            kernels::attend_heads(q.data() + h0 * dim, dim, std::min(per_call, heads - h0), keys.data(), values.data(),
                                  count, dim, 0.5f, got.data() + h0 * dim, dim, scratch.data());
          EXPECT_EQ(got, want) << per_call << " heads per call";
        }
      }
    }
  }
}

// argmax equals the plain loop `x[i] > x[best]` on every ISA: ties (the first wins), the
// largest in a tail or the first lane, NaNs anywhere (never larger; at x[0] it wins), ±0.
TEST(VectorOps, ArgmaxEqualsThePlainLoop) {
  auto plain = [](const std::vector<float>& x) {
    int64_t best = 0;
    for (size_t i = 1; i < x.size(); ++i)
      if (x[i] > x[best]) best = static_cast<int64_t>(i);
    return best;
  };
  std::vector<std::vector<float>> cases;
  for (int64_t n : {1, 15, 16, 17, 33, 1000, 262144}) cases.push_back(random_floats(n, static_cast<uint32_t>(n)));
  std::vector<float> ties = random_floats(100, 5);
  ties[40] = ties[70] = ties[90] = 9.f;
  cases.push_back(ties);
  std::vector<float> last = random_floats(37, 6);
  last[36] = 9.f;
  cases.push_back(last);
  std::vector<float> nans = random_floats(50, 7);
  nans[3] = nans[20] = NAN;
  cases.push_back(nans);
  std::vector<float> nan_first = random_floats(50, 8);
  nan_first[0] = NAN;
  cases.push_back(nan_first);
  cases.push_back({-0.f, 0.f, -1.f, 0.f});
  cases.push_back({-INFINITY, -INFINITY});
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (const auto& x : cases)
      EXPECT_EQ(kernels::argmax(x.data(), static_cast<int64_t>(x.size())), plain(x))
          << kernels::isa_name(isa) << " n=" << x.size();
  }
}

// round_to_f16 gives f32_to_f16's bits on every ISA: normal values, half subnormals, values that
// round to zero or overflow to infinity, infinities and tails of every length below 16.
TEST(VectorOps, RoundToF16EqualsTheScalarConversion) {
  std::vector<float> x = random_floats(1000, 21, 4.f);
  for (float scale : {1e-5f, 6e-8f, 2e-8f, 1e4f}) {
    const std::vector<float> more = random_floats(100, 22, scale);
    x.insert(x.end(), more.begin(), more.end());
  }
  for (float v : {0.f, -0.f, 65504.f, 65519.f, 65520.f, 1e6f, -1e6f, INFINITY, -INFINITY, 5.96e-8f, 2.98e-8f})
    x.push_back(v);
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{17}, static_cast<int64_t>(x.size())}) {
      std::vector<uint16_t> got(static_cast<size_t>(n));
      kernels::round_to_f16(x.data(), got.data(), n);
      for (int64_t i = 0; i < n; ++i)
        ASSERT_EQ(got[i], f32_to_f16(x[i])) << kernels::isa_name(isa) << " x=" << x[i];
    }
  }
}

// attend_heads_f16 (an f16 KV cache) equals attend_heads on the same rows widened to float32,
// bit for bit: widening is exact and both run the same operations in the same order. Every
// specialized head count, more heads than one call takes, and dims off the 16-value fast path.
TEST(VectorOps, AttendHeadsF16EqualsAttendHeadsOnWidenedRows) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int heads : {1, 2, 3, 5, 8, 12}) {
      for (int64_t count : {1, 3, 6, 17, 300}) {
        for (int64_t dim : {33, 48, 112, 256, 512}) {
          SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " heads=" + std::to_string(heads) +
                       " count=" + std::to_string(count) + " dim=" + std::to_string(dim));
          const int64_t stride = dim + 5;
          const auto q = random_floats(heads * stride, 31);
          auto kv = random_floats(2 * count * dim, 32);
          kv[0] = 3e-6f;  // an f16 subnormal
          kv[kv.size() - 1] = -1e-9f;  // below f16's range: -0
          std::vector<uint16_t> kv16(kv.size());
          std::vector<float> widened(kv.size());
          for (size_t i = 0; i < kv.size(); ++i) {
            kv16[i] = f32_to_f16(kv[i]);
            widened[i] = f16_to_f32(kv16[i]);
          }
          std::vector<const uint16_t*> keys16, values16;
          std::vector<const float*> keys, values;
          for (int64_t j = 0; j < count; ++j) {
            keys16.push_back(kv16.data() + j * dim);
            values16.push_back(kv16.data() + (count + j) * dim);
            keys.push_back(widened.data() + j * dim);
            values.push_back(widened.data() + (count + j) * dim);
          }
          std::vector<float> got(heads * stride, 0.f), want(heads * stride, 0.f), scratch(heads * count);
          kernels::attend_heads(q.data(), stride, heads, keys.data(), values.data(), count, dim, 0.4f, want.data(),
                                stride, scratch.data());
          kernels::attend_heads_f16(q.data(), stride, heads, keys16.data(), values16.data(), count, dim, 0.4f,
                                     got.data(), stride, scratch.data());
          EXPECT_EQ(got, want);
        }
      }
    }
  }
}

// Attention split into key ranges, each with its log normalizer, merges into the attention
// over all the keys (flash-decoding of a lone decode row): the same up to float32 rounding, and
// each part's normalizer is log Σ exp of its scores.
TEST(VectorOps, AttendHeadsF16PartsMergeIntoTheWhole) {
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    for (int heads : {1, 3, 8}) {
      for (int64_t count : {2, 17, 300}) {
        for (int64_t dim : {48, 256}) {
          for (int parts : {1, 2, 3}) {
            if (parts > count) continue;  // every part has a key (the decoder skips empty ones)
            SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " heads=" + std::to_string(heads) + " count=" +
                         std::to_string(count) + " dim=" + std::to_string(dim) + " parts=" + std::to_string(parts));
            const int64_t stride = dim + 5;
            const auto q = random_floats(heads * stride, 41);
            const auto kv = random_floats(2 * count * dim, 42);
            std::vector<uint16_t> kv16(kv.size());
            for (size_t i = 0; i < kv.size(); ++i) kv16[i] = f32_to_f16(kv[i]);
            std::vector<const uint16_t*> keys, values;
            for (int64_t j = 0; j < count; ++j) {
              keys.push_back(kv16.data() + j * dim);
              values.push_back(kv16.data() + (count + j) * dim);
            }
            const float scale = 0.7f;
            std::vector<float> whole(heads * stride, 0.f), scratch(heads * count);
            kernels::attend_heads_f16(q.data(), stride, heads, keys.data(), values.data(), count, dim, scale,
                                       whole.data(), stride, scratch.data());
            // Part p: keys [count·p/parts, count·(p+1)/parts), outputs [p][head][dim], lse [p][head].
            std::vector<float> part_out(parts * heads * dim), lse(parts * heads);
            for (int p = 0; p < parts; ++p) {
              const int64_t k0 = count * p / parts, k1 = count * (p + 1) / parts;
              kernels::attend_heads_f16(q.data(), stride, heads, keys.data() + k0, values.data() + k0, k1 - k0, dim,
                                         scale, part_out.data() + p * heads * dim, dim, scratch.data(),
                                         lse.data() + p * heads);
              for (int g = 0; g < heads; ++g) {  // the normalizer, from double-precision scores
                double largest = -INFINITY, sum = 0.0;
                std::vector<double> s;
                for (int64_t j = k0; j < k1; ++j) {
                  double d = 0.0;
                  for (int64_t i = 0; i < dim; ++i) d += double(q[g * stride + i]) * f16_to_f32(keys[j][i]);
                  s.push_back(scale * d);
                  largest = std::max(largest, s.back());
                }
                for (double x : s) sum += std::exp(x - largest);
                EXPECT_NEAR(lse[p * heads + g], largest + std::log(sum), 1e-4 * (1.0 + std::fabs(largest)));
              }
            }
            for (int g = 0; g < heads; ++g) {
              std::vector<float> merged(dim);
              kernels::merge_attention_parts(part_out.data() + g * dim, heads * dim, lse.data() + g, heads, parts, dim,
                                             merged.data());
              for (int64_t i = 0; i < dim; ++i) EXPECT_NEAR(merged[i], whole[g * stride + i], 1e-5);
            }
          }
        }
      }
    }
  }
}

// Quantizes x ([n, cols]) on every ISA: all give the same bytes, scales and offset sums (the
// scalar ISA's result is returned).
kernels::detail::QuantizedActs expect_identical_quantization_on_every_isa(const std::vector<float>& x, int64_t n,
                                                                          int64_t cols) {
  std::vector<kernels::detail::QuantizedActs> results;
  for (auto isa : supported_isas()) {
    IsaScope scope(isa);
    kernels::detail::QuantizedActs qa;
    kernels::detail::quantize_activations(x.data(), n, cols, qa);
    results.push_back(qa);
  }
  for (size_t i = 1; i < results.size(); ++i) {
    EXPECT_EQ(results[i].qs, results[0].qs);
    EXPECT_EQ(results[i].d8, results[0].d8);
    EXPECT_EQ(results[i].sum8, results[0].sum8);
    EXPECT_EQ(results[i].d1, results[0].d1);
    EXPECT_EQ(results[i].minus8_sum, results[0].minus8_sum);
    EXPECT_EQ(results[i].minus128_sum, results[0].minus128_sum);
  }
  return results[0];
}

// The int8 activations every quantized matmul consumes are the same bits on every ISA
// (the AVX-512 quantizer against the scalar one), including zero blocks and ±127 clamping.
TEST(VectorOps, ActivationQuantizationIsIdenticalOnEveryIsa) {
  const int64_t n = 5, cols = 32 * 37;
  auto x = random_floats(n * cols, 11, 3.f);
  for (int64_t i = 0; i < 32; ++i) x[64 + i] = 0.f;  // an all-zero block
  x[200] = 1e6f;                                      // one huge value in its block
  // A block with amax 127 (scale exactly 1) holding exact ties: round half to even.
  x[320] = 127.f;
  x[321] = 0.5f;
  x[322] = 1.5f;
  x[323] = -2.5f;
  expect_identical_quantization_on_every_isa(x, n, cols);
}

// The AVX-512 quantizer works on groups of 16 blocks: whole groups, partial ones (1 to 15
// blocks) and rows shorter than a group give the scalar quantizer's bits.
TEST(VectorOps, ActivationQuantizationOfEveryGroupShape) {
  for (int64_t blocks : {1, 2, 7, 8, 15, 16, 17, 31, 32, 33, 48, 64, 192}) {
    for (int64_t n : {1, 3, 4}) {
      const int64_t cols = 32 * blocks;
      auto x = random_floats(n * cols, 100 + blocks + n, 5.f);
      SCOPED_TRACE("blocks " + std::to_string(blocks) + ", rows " + std::to_string(n));
      const kernels::detail::QuantizedActs first = expect_identical_quantization_on_every_isa(x, n, cols);
      // Without the per-lane copies (the interleaved kernels' form): the rest is unchanged.
      kernels::detail::QuantizedActs lean;
      kernels::detail::quantize_activations(x.data(), n, cols, lean, /*lane_copies=*/false);
      EXPECT_EQ(lean.qs, first.qs);
      EXPECT_EQ(lean.d1, first.d1);
      EXPECT_EQ(lean.minus8_sum, first.minus8_sum);
      EXPECT_EQ(lean.minus128_sum, first.minus128_sum);
    }
  }
}
