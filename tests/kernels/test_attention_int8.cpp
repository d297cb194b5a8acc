// The int8 long attention (attention_bidirectional_int8) against the float32 reference, on
// every ISA this CPU runs (the VNNI micro-kernels and the portable loops), with odd sizes:
// head_dim not a multiple of 4 or of the 32-wide panels, key counts not multiples of 4 or 32,
// query counts not multiples of the 12-row tiles, padded row strides, grouped kv heads.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "kernels/attention_int8_internal.h"
#include "kernels/attention_long.h"
#include "kernels/isa.h"
#include "kernels/kernel_test_util.h"

namespace gemma4 {
namespace {

struct Errors {
  double max_abs = 0, rel_l2 = 0;
};

Errors errors(const std::vector<float>& got, const std::vector<float>& want) {
  Errors e;
  for (size_t i = 0; i < got.size(); ++i) {
    const double d = std::fabs(double(got[i]) - want[i]);
    e.max_abs = std::isnan(d) ? INFINITY : std::max(e.max_abs, d);
  }
  e.rel_l2 = test::relative_l2(got, want);
  return e;
}

kernels::LongAttentionShape shape_of(int64_t queries, int64_t keys, int heads, int kv_heads, int head_dim, float scale) {
  kernels::LongAttentionShape s;
  s.queries = queries;
  s.keys = keys;
  s.heads = heads;
  s.kv_heads = kv_heads;
  s.head_dim = head_dim;
  s.q_stride = s.out_stride = int64_t{heads} * head_dim + 3;
  s.kv_stride = int64_t{kv_heads} * head_dim + 5;
  s.scale = scale;
  return s;
}

// Runs the int8 attention on every ISA and checks it against the float32 reference.
// Error budget (unit-normal q, k, v): each q, k, v value is off by ≤ absmax/254 (~0.01 for
// absmax ~2.5-3.5), so a score moves by ~scale · √hd · 0.01 · √2 typically and softmax turns
// that into the same relative change of a weight; each weight is off by ≤ 1/510 of its row's
// largest. The output, a convex mix of values |v| ≲ 3.5, typically moves by ≲ 0.02. Measured
// (printed): max |diff| 0.006-0.04 and relative L2 0.01-0.02, 3-6x the bf16 kernel's on the
// same data; the bounds are ~3x the measured errors. Relative L2 is largest with many keys
// and flat scores: every weight is then a small byte (~9 of 255) and off by up to 1/2.
void check_against_reference(const kernels::LongAttentionShape& s, bool masked, double max_abs_bound,
                             double rel_l2_bound) {
  const std::vector<float> q = test::random_floats(s.queries * s.q_stride, 21);
  const std::vector<float> k = test::random_floats(s.keys * s.kv_stride, 22);
  const std::vector<float> v = test::random_floats(s.keys * s.kv_stride, 23);
  std::vector<uint8_t> valid(static_cast<size_t>(s.keys), 1);
  for (int64_t j = 1; j < s.keys; j += 3) valid[j] = 0;
  const uint8_t* mask = masked ? valid.data() : nullptr;
  std::vector<float> want(static_cast<size_t>(s.queries * s.out_stride), 0.f), bf16(want.size(), 0.f);
  kernels::attention_bidirectional_reference(s, q.data(), k.data(), v.data(), mask, want.data());
  kernels::attention_bidirectional(s, q.data(), k.data(), v.data(), mask, bf16.data());
  const Errors bf16_err = errors(bf16, want);
  std::vector<std::vector<float>> outputs;
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    std::vector<float> got(want.size(), 0.f);
    kernels::attention_bidirectional_int8(s, q.data(), k.data(), v.data(), mask, got.data());
    const Errors e = errors(got, want);
    std::printf("int8 attention %s q%lld k%lld hd%d%s: max |diff| %.4g rel l2 %.4g (bf16 kernel: %.4g, %.4g)\n",
                kernels::isa_name(isa), static_cast<long long>(s.queries), static_cast<long long>(s.keys), s.head_dim,
                masked ? " masked" : "", e.max_abs, e.rel_l2, bf16_err.max_abs, bf16_err.rel_l2);
    EXPECT_LE(e.max_abs, max_abs_bound) << kernels::isa_name(isa);
    EXPECT_LT(e.rel_l2, rel_l2_bound) << kernels::isa_name(isa);
    // The padding between rows is never written.
    for (int64_t t = 0; t < s.queries; ++t)
      for (int64_t c = int64_t{s.heads} * s.head_dim; c < s.out_stride; ++c) ASSERT_EQ(got[t * s.out_stride + c], 0.f);
    outputs.push_back(std::move(got));
  }
  // Same integer sums and the same float steps on every ISA, exp() included (kByteExp2's
  // polynomial): identical outputs.
  for (size_t i = 1; i < outputs.size(); ++i) EXPECT_EQ(errors(outputs[i], outputs[0]).max_abs, 0.0);
}

TEST(LongAttentionInt8, SmallOddShapesMatchFloatReference) {
  for (bool masked : {false, true}) check_against_reference(shape_of(70, 83, 4, 2, 32, 0.3f), masked, 0.12, 0.045);
}

TEST(LongAttentionInt8, HeadDimNotMultipleOfFourOrPanel) {
  check_against_reference(shape_of(13, 37, 3, 3, 38, 0.25f), false, 0.08, 0.04);
  check_against_reference(shape_of(25, 50, 2, 1, 6, 0.5f), true, 0.05, 0.03);
}

// Many keys at the vision tower's head size, where most softmax weights are far below the
// largest (some round to 0).
TEST(LongAttentionInt8, ManyKeysMatchFloatReference) {
  check_against_reference(shape_of(40, 1203, 2, 2, 64, 0.125f), false, 0.02, 0.06);
}

// Peaked rows (base-2 scores spread ~6 around 0, the max ~18 above the bulk): most groups of 16
// keys hold only zero bytes and the VNNI value pass skips them (ExpBytesMarksTheNonzeroGroups);
// measured max |diff| 0.07-0.11, relative L2 0.03-0.036; bounds ~3x; the every-ISA check above holds it to the dense portable
// sum bit for bit. Key counts across a 64-group word (1025) and with a short last group.
TEST(LongAttentionInt8, PeakedRowsMatchFloatReference) {
  for (bool masked : {false, true}) check_against_reference(shape_of(41, 1203, 2, 1, 64, 0.5f), masked, 0.3, 0.1);
  check_against_reference(shape_of(9, 1025, 1, 1, 32, 0.7f), false, 0.3, 0.1);
}

// The softmax-to-bytes pass on both ISAs: the same bytes and sum, and a mark exactly on the
// groups of 16 keys holding a nonzero byte (the value pass skips the others), on a row where
// most groups are zero, with a -inf (masked) key and a short last group.
TEST(LongAttentionInt8, ExpBytesMarksTheNonzeroGroups) {
  const int64_t keys = 1203, padded = 1204;
  std::vector<float> s = test::random_floats(keys, 31, 6.f);
  s[17] = -INFINITY;
  const float q_scale = 1.3f;
  std::vector<uint8_t> p_scalar(padded, 7), p_fast(padded, 7);
  const int64_t words = kernels::detail::key_group_words(keys);
  std::vector<uint64_t> marks_scalar(words, ~uint64_t{0}), marks_fast(words, ~uint64_t{0});
  const int32_t sum = kernels::detail::exp_bytes_scalar(s.data(), q_scale, keys, padded, p_scalar.data(), marks_scalar.data(), false);
  int marked = 0, groups = 0;
  for (int64_t c = 0; c * 16 < keys; ++c, ++groups) {
    bool any = false;
    for (int64_t j = c * 16; j < std::min(keys, c * 16 + 16); ++j) any |= p_scalar[j] != 0;
    EXPECT_EQ(any, (marks_scalar[c / 64] >> (c % 64) & 1) != 0) << "group " << c;
    marked += any;
  }
  EXPECT_GT(marked, 0);
  EXPECT_LT(marked, groups / 2) << "the row should be peaked";
  EXPECT_EQ(p_scalar[17], 0);
  if (kernels::active_isa() != kernels::Isa::avx512) GTEST_SKIP() << "no AVX-512 here";
  for (bool sparse : {false, true}) {
    EXPECT_EQ(kernels::detail::exp_bytes_avx512(s.data(), q_scale, keys, padded, p_fast.data(), marks_fast.data(), sparse),
              sum);
    EXPECT_EQ(p_fast, p_scalar) << "sparse " << sparse;
    EXPECT_EQ(marks_fast, marks_scalar) << "sparse " << sparse;
  }
}

TEST(LongAttentionInt8, AllKeysMaskedGivesZeros) {
  const kernels::LongAttentionShape s = shape_of(5, 9, 2, 2, 8, 1.f);
  const std::vector<float> q = test::random_floats(s.queries * s.q_stride, 1);
  const std::vector<float> kv = test::random_floats(s.keys * s.kv_stride, 2);
  const std::vector<uint8_t> none(static_cast<size_t>(s.keys), 0);
  for (kernels::Isa isa : test::supported_isas()) {
    test::IsaScope scope(isa);
    std::vector<float> out(static_cast<size_t>(s.queries * s.out_stride), 7.f);
    kernels::attention_bidirectional_int8(s, q.data(), kv.data(), kv.data(), none.data(), out.data());
    for (int64_t t = 0; t < s.queries; ++t)
      for (int c = 0; c < s.heads * s.head_dim; ++c) ASSERT_EQ(out[t * s.out_stride + c], 0.f);
  }
}

}  // namespace
}  // namespace gemma4
