// Fast float32 vector operations of transformer layers (norms, activations, attention over a
// KV cache), dispatched on the active ISA (kernels/isa.h) and threaded where a call is big
// enough to pay for waking the pool. Results match kernels/reference_ops.h to float32
// rounding (summation order, a polynomial exp); with GEMMA4_ISA=scalar they are the reference
// code itself. Nothing here knows about a particular model.
#pragma once
#include <cstdint>

namespace gemma4::kernels {

// Σ a[i]·b[i].
float dot(const float* a, const float* b, int64_t n);

// y[i] += a · x[i].
void axpy(float a, const float* x, float* y, int64_t n);

// rms_norm (reference_ops.h) of each of `rows` rows of n values; w may be nullptr (no scale).
// In place allowed (y == x).
void rms_norm_rows(const float* x, const float* w, int64_t rows, int64_t n, double eps, float* y);

// g[i] = gelu_tanh(g[i]) · u[i]   (the gated activation of GeGLU).
void gelu_tanh_mul(float* g, const float* u, int64_t n);

// x[i] = cap · tanh(x[i] / cap).
void softcap(float* x, int64_t n, float cap);

// One attention query against `count` key / value rows of `dim` floats:
//   out = Σ_j softmax_j(scale · q·keys[j]) · values[j]     (out is overwritten).
// `scores` is scratch space for `count` floats.
void attend_query(const float* q, const float* const* keys, const float* const* values, int64_t count, int64_t dim,
                  float scale, float* out, float* scores);

// attend_query for `heads` queries that share the same keys and values (the query heads of
// one KV head under grouped-query attention): query g at q + g·q_stride, its output at
// out + g·out_stride. Each key and value row is loaded once for all of them, so this is the
// fast way to attend with several heads. `scores` is scratch space for heads · count floats.
void attend_heads(const float* q, int64_t q_stride, int heads, const float* const* keys, const float* const* values,
                  int64_t count, int64_t dim, float scale, float* out, int64_t out_stride, float* scores);

// attend_heads with IEEE half key and value rows (raw bits, as tensor/dtype.h's f16_to_f32
// reads them): the rows are widened to float32 exactly and everything else is computed as
// attend_heads does, so the result equals attend_heads on the widened rows. An f16 KV cache
// halves the bytes attention reads per position, which bound decode at long contexts.
// `lse`, when not null, receives each head's log normalizer, log Σ_j exp(scale · q_g·keys[j])
// (lse[g] for head g): attention over disjoint ranges of the keys, each with its lse, merges
// into attention over all of them (merge_attention_parts), so one query's keys can be split
// across threads.
void attend_heads_f16(const float* q, int64_t q_stride, int heads, const uint16_t* const* keys,
                       const uint16_t* const* values, int64_t count, int64_t dim, float scale, float* out,
                       int64_t out_stride, float* scores, float* lse = nullptr);

// One head's attention over `parts` disjoint key ranges, merged into its attention over their
// union: out = Σ_i w_i · part_i with w_i = exp(lse_i − M) / Σ_k exp(lse_k − M), M = max lse.
// part_i is `dim` floats at parts_out + i·part_stride, lse_i at lses[i · lse_stride].
void merge_attention_parts(const float* parts_out, int64_t part_stride, const float* lses, int64_t lse_stride,
                           int parts, int64_t dim, float* out);

// The index of the largest of x[0..n) (n ≥ 1), the first one on ties; NaNs are never larger
// (as a loop of `x[i] > x[best]` from best = 0). Greedy decoding runs it over every vocabulary.
int64_t argmax(const float* x, int64_t n);

// y[i] = f32_to_f16(x[i]) (tensor/dtype.h: round to nearest even, IEEE half bits) for i < n, on
// the calling thread; AVX-512 converts 16 at a time (vcvtps2ph), with the same bits.
void round_to_f16(const float* x, uint16_t* y, int64_t n);

}  // namespace gemma4::kernels
