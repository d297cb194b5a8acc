// Attention over long sequences (encoders: every query sees every key, up to thousands of
// them), on the packed bf16 GEMM (gemm.h): per head, S = scale·Q·Kᵀ, P = softmax(S) in float32,
// O = P·V, with Q, K, P and V rounded to bf16 for the two products. Queries go in blocks so
// a block's scores stay in L2. Knows nothing about any model: positions (RoPE), norms and the
// choice of scale are the caller's.
#pragma once
#include <cstdint>

namespace gemma4::kernels {

struct LongAttentionShape {
  int64_t queries = 0;   // n_q
  int64_t keys = 0;      // n_kv
  int heads = 0;         // query heads; head h reads kv head h / (heads / kv_heads)
  int kv_heads = 0;
  int head_dim = 0;
  int64_t q_stride = 0;    // floats between query rows (≥ heads · head_dim)
  int64_t kv_stride = 0;   // floats between key rows and between value rows
  int64_t out_stride = 0;  // floats between output rows
  float scale = 1.f;       // multiplies q·k before the softmax
};

// out[t, h·hd .. (h+1)·hd) = softmax_j(scale · q_t,h · k_j,g) · v_j,g for g = h / group.
// key_valid: null (all keys visible) or n_kv flags; a query whose keys are all invalid gets
// zeros. Spread over the thread pool (heads × query blocks).
void attention_bidirectional(const LongAttentionShape& shape, const float* q, const float* k, const float* v,
                             const uint8_t* key_valid, float* out);

// The same attention with int8 products (AVX512-VNNI vpdpbusd; elsewhere a portable loop
// giving the same integer sums): q and k quantized per row and head (absmax / 127), v per
// channel of each kv head, scores scale · Q·Kᵀ from exact int32 sums; the softmax weights,
// exp(s − max) ∈ (0, 1], become unsigned bytes round(255 · e) (vpdpbusd's unsigned operand,
// no offset) and O = Σ p·v / Σ p. Numerics: scores off by ~|q||k|/127 relative, each weight
// by ≤ 1/510 of the row's largest (weights below that round to 0). For encoders that accept
// int8 error (EncoderNumerics::int8). More keys than int32 sums allow (~66k) go to the bf16
// path.
void attention_bidirectional_int8(const LongAttentionShape& shape, const float* q, const float* k, const float* v,
                                  const uint8_t* key_valid, float* out);

// The float32 reference of the same computation (exact products, double-precision sums of the
// softmax), for tests.
void attention_bidirectional_reference(const LongAttentionShape& shape, const float* q, const float* k,
                                       const float* v, const uint8_t* key_valid, float* out);

// In place, for each of `rows` rows of `cols` scores (row stride `stride`):
// s = softmax(scale · s) over the valid columns (key_valid null: all); invalid ones become 0,
// and a row without valid columns becomes all zeros.
void softmax_rows(float* s, int64_t rows, int64_t cols, int64_t stride, float scale, const uint8_t* key_valid);

}  // namespace gemma4::kernels
