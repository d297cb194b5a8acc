// Internals of the int8 long attention (attention_long.h: attention_bidirectional_int8):
// operand layouts and the micro-kernels, portable (attention_int8.cpp) and VNNI
// (attention_int8_avx512.cpp).
#pragma once
#include <cstdint>

namespace gemma4::kernels::detail {

constexpr int kAttnPanel = 32;  // keys (for Q·Kᵀ) or value channels (for P·V) per packed panel
// Softmax bytes below 1/510 of a row's largest round to 0; in a peaked row most do. Each row
// marks its groups of kKeyGroup keys (4 quads) that hold a nonzero byte, one bit per group
// (group c: bit c % 64 of word c / 64), and P·V skips the groups no row of its tile marked:
// sums of zero products, so the results are the same to the bit.
// Skipping pays only in sparse rows: P·V runs tiles of 4 rows (their union of marks leaves
// more groups out than 12 rows' would) where their marks cover at most kSparseCover of the
// groups, and the dense 12-row tile over every key elsewhere.
constexpr int64_t kKeyGroup = 16;
constexpr int kSparseTileRows = 4;
constexpr int kDenseTileRows = 12;
constexpr double kSparseCover = 0.7;
inline int64_t key_group_words(int64_t keys) { return (keys + 64 * kKeyGroup - 1) / (64 * kKeyGroup); }

// Quantizes `rows` rows of n floats (row r at x + r·x_stride) to int8, each on its absmax (round
// half to even): out[r·out_stride + i] = nearbyint(x[i] · (127 / absmax)) as a signed byte xor
// `flip` (0x80 gives the unsigned q + 128 form); absmax[r] (0 for an all-zero row, which
// quantizes to 0) and, when sums is not null, sums[r] = Σ q (the signed values).
using QuantizeRowsFn = void (*)(const float* x, int64_t rows, int64_t x_stride, int64_t n, uint8_t flip, uint8_t* out,
                                int64_t out_stride, float* absmax, int32_t* sums);
// out[i] = clamp(nearbyint(x[i] · inv[i]), ±127) as signed bytes (per-channel scales).
using QuantizeChannelsFn = void (*)(const float* x, int64_t n, const float* inv, int8_t* out);
// absmax[c] = max(absmax[c], max_r |x[r · stride + c]|) for c < cols (per-channel ranges).
using ColumnAbsmaxFn = void (*)(const float* x, int64_t rows, int64_t cols, int64_t stride, float* absmax);

// Scores of up to 12 query rows against one panel of 32 keys, without the query rows' scales
// (the softmax pass applies them, ExpBytesFn):
//   s[r·s_stride + j] = float(Σ_c qa[r][c]·kq[j][c] − k_corr[j]) · k_scale[j]
// qa: unsigned (q + 128) query bytes, row r at qa + r·qa_stride, hd_quads quads;
// kq: the panel, [hd_quads][32][4] signed bytes.
using ScoresTileFn = void (*)(const uint8_t* qa, int64_t qa_stride, int rows, int64_t hd_quads, const int8_t* kq,
                              const float* k_scale, const int32_t* k_corr, float* s, int64_t s_stride);

// 255 · 2^f for |f| ≤ 1/2 as a degree-3 polynomial (Horner, fused multiply-adds), fitted to
// the relative error: within 8e-5, 0.02 of a byte step. Both ISAs evaluate exactly this.
constexpr float kByteExp2[4] = {255.f * 0.99992890482f, 255.f * 0.69327628333f, 255.f * 0.24260465591f,
                                255.f * 0.05508876703f};

// One softmax row to bytes: with the row's scale q_scale (≥ 0; the attention scale and log2 e
// folded in, so the scores come out in base 2) and t[j] = fma(s[j], q_scale, −(max_j s · q_scale)),
// p[j] = nearbyint(255 · 2^t[j]) for j < keys, 0 up to keys_padded; returns Σ p (exact).
// 255 · 2^t is 2^round(t) times kByteExp2's polynomial of t − round(t), t clamped at -127 (NaN
// counts as -127): every ISA gives the same bytes. -inf scores (masked keys) give 0. Marks in
// nonzero[key_group_words(keys)] the key groups holding a nonzero byte (kKeyGroup). sparse: the
// row is expected to be mostly zero bytes, so runs of 64 keys whose bytes all round to 0 are
// stored without evaluating exp() (a branch per 64 keys, which mispredicts in dense rows); the
// same bytes and marks either way.
using ExpBytesFn = int32_t (*)(const float* s, float q_scale, int64_t keys, int64_t keys_padded, uint8_t* p,
                               uint64_t* nonzero, bool sparse);

// Outputs of up to kDenseTileRows rows for one panel of 32 value channels:
//   o[r·o_stride + d] = float(Σ_j p[r][j]·vq[d][j]) · v_scale[d] · row_factor[r], d < cols_valid
// p: rows of key_quads quads (stride 4·key_quads); vq: the panel, [key_quads][32][4]. groups:
// null (every key), or for up to kSparseTileRows rows the union of their nonzero marks
// (ExpBytesFn): unmarked key groups may be skipped.
using ValuesTileFn = void (*)(const uint8_t* p, int rows, int64_t key_quads, const uint64_t* groups, const int8_t* vq,
                              const float* v_scale, const float* row_factor, float* o, int64_t o_stride,
                              int cols_valid);

void quantize_rows_scalar(const float* x, int64_t rows, int64_t x_stride, int64_t n, uint8_t flip, uint8_t* out,
                          int64_t out_stride, float* absmax, int32_t* sums);
void column_absmax_scalar(const float* x, int64_t rows, int64_t cols, int64_t stride, float* absmax);
void quantize_channels_scalar(const float* x, int64_t n, const float* inv, int8_t* out);
void scores_tile_scalar(const uint8_t* qa, int64_t qa_stride, int rows, int64_t hd_quads, const int8_t* kq,
                        const float* k_scale, const int32_t* k_corr, float* s, int64_t s_stride);
int32_t exp_bytes_scalar(const float* s, float q_scale, int64_t keys, int64_t keys_padded, uint8_t* p,
                        uint64_t* nonzero, bool sparse);
void values_tile_scalar(const uint8_t* p, int rows, int64_t key_quads, const uint64_t* groups, const int8_t* vq,
                        const float* v_scale, const float* row_factor, float* o, int64_t o_stride, int cols_valid);

void quantize_rows_avx512(const float* x, int64_t rows, int64_t x_stride, int64_t n, uint8_t flip, uint8_t* out,
                          int64_t out_stride, float* absmax, int32_t* sums);
void column_absmax_avx512(const float* x, int64_t rows, int64_t cols, int64_t stride, float* absmax);
void quantize_channels_avx512(const float* x, int64_t n, const float* inv, int8_t* out);
void scores_tile_avx512(const uint8_t* qa, int64_t qa_stride, int rows, int64_t hd_quads, const int8_t* kq,
                        const float* k_scale, const int32_t* k_corr, float* s, int64_t s_stride);
int32_t exp_bytes_avx512(const float* s, float q_scale, int64_t keys, int64_t keys_padded, uint8_t* p,
                        uint64_t* nonzero, bool sparse);
void values_tile_avx512(const uint8_t* p, int rows, int64_t key_quads, const uint64_t* groups, const int8_t* vq,
                        const float* v_scale, const float* row_factor, float* o, int64_t o_stride, int cols_valid);

}  // namespace gemma4::kernels::detail
