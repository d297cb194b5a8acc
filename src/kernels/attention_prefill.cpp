#include "kernels/attention_prefill.h"

#include <cstddef>
#include <vector>

#include "kernels/isa.h"
#include "kernels/vector_ops.h"

namespace gemma4::kernels {
namespace detail {
bool attend_prefill_block_f16_avx512(const PrefillAttentionBlock& block);
}  // namespace detail

void attend_prefill_block_f16(const PrefillAttentionBlock& b) {
  if (active_isa() == Isa::avx512 && detail::attend_prefill_block_f16_avx512(b)) return;
  // Elsewhere (and for shapes the tiles do not take): decode's kernel, row by row.
  thread_local std::vector<float> scores;
  for (int64_t r = 0; r < b.rows; ++r) {
    const int64_t count = b.end[r] - b.first[r];
    scores.resize(static_cast<size_t>(b.heads * count));
    attend_heads_f16(b.q + r * b.q_stride, b.dim, b.heads, b.keys + b.first[r], b.values + b.first[r], count, b.dim,
                     b.scale, b.out + r * b.out_stride, b.dim, scores.data());
  }
}

}  // namespace gemma4::kernels
