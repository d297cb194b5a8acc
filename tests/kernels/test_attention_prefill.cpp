// The blocked prefill attention (kernels/attention_prefill.h) against decode's row-by-row
// kernel (attend_heads_f16) on the same f16 keys and values: causal and sliding windows,
// block sizes and head counts, head sizes on and off the 16-value tiles.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/attention_prefill.h"
#include "kernels/vector_ops.h"
#include "tensor/dtype.h"

using namespace gemma4;
using namespace gemma4::test;

namespace {

struct Case {
  int64_t rows, count, window;  // window 0: causal only
  int heads;
  int64_t dim;
};

// The block's rows are the last `rows` positions of `count` keys, each seeing the keys up to
// itself (and, with a window, no further back than window - 1).
void check_case(const Case& c, kernels::Isa isa) {
  SCOPED_TRACE(std::string(kernels::isa_name(isa)) + " rows=" + std::to_string(c.rows) + " count=" +
               std::to_string(c.count) + " window=" + std::to_string(c.window) + " heads=" + std::to_string(c.heads) +
               " dim=" + std::to_string(c.dim));
  const int64_t q_stride = c.heads * c.dim + 3, out_stride = c.heads * c.dim + 5;
  const auto q = random_floats(c.rows * q_stride, 41, 0.5f);
  const auto kv = random_floats(2 * c.count * c.dim, 42);
  std::vector<uint16_t> kv16(kv.size());
  for (size_t i = 0; i < kv.size(); ++i) kv16[i] = f32_to_f16(kv[i]);
  std::vector<const uint16_t*> keys, values;
  for (int64_t j = 0; j < c.count; ++j) {
    keys.push_back(kv16.data() + j * c.dim);
    values.push_back(kv16.data() + (c.count + j) * c.dim);
  }
  std::vector<int64_t> first(c.rows), end(c.rows);
  for (int64_t r = 0; r < c.rows; ++r) {
    const int64_t pos = c.count - c.rows + r;
    end[r] = pos + 1;
    first[r] = c.window > 0 ? std::max<int64_t>(0, pos - c.window + 1) : 0;
  }
  const float scale = 0.7f;
  std::vector<float> want(c.rows * out_stride, 0.f), got(want.size(), 0.f), scores;
  for (int64_t r = 0; r < c.rows; ++r) {
    const int64_t n = end[r] - first[r];
    scores.resize(c.heads * n);
    kernels::attend_heads_f16(q.data() + r * q_stride, c.dim, c.heads, keys.data() + first[r],
                              values.data() + first[r], n, c.dim, scale, want.data() + r * out_stride, c.dim,
                              scores.data());
  }
  kernels::PrefillAttentionBlock block;
  block.q = q.data();
  block.q_stride = q_stride;
  block.rows = c.rows;
  block.heads = c.heads;
  block.dim = c.dim;
  block.keys = keys.data();
  block.values = values.data();
  block.count = c.count;
  block.first = first.data();
  block.end = end.data();
  block.scale = scale;
  block.out = got.data();
  block.out_stride = out_stride;
  kernels::attend_prefill_block_f16(block);
  // The same float32 sums in another order: 512-term dot products and softmax sums of up to
  // 300 terms (float32 ε = 6e-8, growing like √n) differ by ~1e-6 relative; a wrong mask,
  // head or row moves the result by far more (order 1).
  EXPECT_LT(relative_l2(got, want), 1e-5);
  for (int64_t r = 0; r < c.rows; ++r)  // the gaps between rows are not written
    for (int64_t i = c.heads * c.dim; i < out_stride; ++i) ASSERT_EQ(got[r * out_stride + i], 0.f);
}

TEST(PrefillAttention, BlockEqualsRowByRowAttention) {
  const Case cases[] = {
      {16, 16, 0, 8, 256},  {16, 300, 0, 8, 256}, {16, 300, 40, 8, 256}, {5, 77, 0, 8, 512},
      {13, 200, 17, 3, 64}, {1, 1, 0, 1, 16},     {7, 9, 3, 2, 48},      {4, 50, 0, 5, 40},
  };
  for (kernels::Isa isa : supported_isas()) {
    IsaScope scope(isa);
    for (const Case& c : cases) check_case(c, isa);
  }
}

}  // namespace
