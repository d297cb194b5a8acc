// Causal attention of a block of consecutive query rows (prefill) against one KV head whose
// rows are IEEE half (an f16 KV cache). Decode's kernel (vector_ops.h attend_heads_f16) takes
// one row at a time: every key is widened and every score reduced horizontally once per row.
// Here the block's rows × heads queries share each key: Q·Kᵀ and P·V run as small
// register-tiled GEMMs in float32, so the work is fused multiply-adds, not loads and
// reductions. Knows nothing about any model: the caller gives each row its visible keys.
#pragma once
#include <cstdint>

namespace gemma4::kernels {

struct PrefillAttentionBlock {
  const float* q = nullptr;  // row r, head g: q + r·q_stride + g·dim
  int64_t q_stride = 0;
  int64_t rows = 0;
  int heads = 0;  // query heads reading this KV head
  int64_t dim = 0;
  const uint16_t* const* keys = nullptr;  // key rows 0 .. count-1 (f16 bits, dim values each)
  const uint16_t* const* values = nullptr;
  int64_t count = 0;
  const int64_t* first = nullptr;  // row r sees keys [first[r], end[r]) (non-empty, within count)
  const int64_t* end = nullptr;
  float scale = 1.f;
  float* out = nullptr;  // row r, head g: out + r·out_stride + g·dim
  int64_t out_stride = 0;
};

// out = softmax(scale · q·kᵀ over the row's visible keys) · v for every row and head; the same
// as attend_heads_f16 row by row up to float32 summation order. Runs on the calling thread.
// At most kPrefillBlockQueries queries (rows × heads) per call.
constexpr int64_t kPrefillBlockQueries = 128;
void attend_prefill_block_f16(const PrefillAttentionBlock& block);

}  // namespace gemma4::kernels
