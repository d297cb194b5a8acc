// AVX-512 kernels (F/BW/VL/DQ + VNNI + BF16: Zen 4/5, Sapphire Rapids). Compiled with those
// flags and called only when CPUID reports all of them.
//
// Block formats process two 32-blocks per 512-bit register: VNNI's vpdpbusd sums u8 × s8
// products into 16 int32 lanes, lanes 0..7 for the first block and 8..15 for the second,
// which are then scaled by [dw0·dx0 ×8, dw1·dx1 ×8] and accumulated in float32.
// Micro-tiles are 4 rows × up to 4 tokens (16 accumulators of the 32 registers).

// GCC 12's AVX-512 headers trip -Wmaybe-uninitialized on their own "undefined" temporaries
// (GCC bug 105593); the warning is about the header, not this code.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
#include <immintrin.h>

#include "kernels/matmul_internal.h"
#include "kernels/matmul_tiles.h"

namespace gemma4::kernels::detail {
namespace {

constexpr int kRows = 4;

// 16 weights as float32, whole or masked (the column tail).
struct F32Loader {
  static __m512 load(const float* p) { return _mm512_loadu_ps(p); }
  static __m512 load(const float* p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
};
struct Bf16Loader {
  static __m512 widen(__m256i v) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(v), 16)); }
  static __m512 load(const uint16_t* p) { return widen(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))); }
  static __m512 load(const uint16_t* p, __mmask16 m) { return widen(_mm256_maskz_loadu_epi16(m, p)); }
};

inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Dot products of R float/bf16 weight rows with T token rows; the column tail is masked.
template <class W, class Loader>
struct FloatRowDot {
  const MatmulJob* job;
  template <int R, int T>
  void run(int64_t row, int64_t t0, float (*out)[kTokenTile]) const {
    const int64_t cols = job->w->cols;
    const W* w = static_cast<const W*>(job->w->data) + row * cols;
    const float* x = job->x + t0 * cols;
    // A lone row and token (decode) gets two accumulators so FMA latency does not bind.
    constexpr int U = R * T == 1 ? 2 : 1;
    __m512 acc[R][T][U];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t)
        for (int u = 0; u < U; ++u) acc[r][t][u] = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 * U <= cols; i += 16 * U) {
      for (int u = 0; u < U; ++u) {
        __m512 wv[R];
        for (int r = 0; r < R; ++r) wv[r] = Loader::load(w + r * cols + i + 16 * u);
        for (int t = 0; t < T; ++t) {
          const __m512 xv = _mm512_loadu_ps(x + t * cols + i + 16 * u);
          for (int r = 0; r < R; ++r) acc[r][t][u] = _mm512_fmadd_ps(wv[r], xv, acc[r][t][u]);
        }
      }
    }
    for (; i < cols; i += 16) {  // up to 16·U − 1 columns left
      const __mmask16 m = cols - i >= 16 ? __mmask16(0xffff) : static_cast<__mmask16>((1u << (cols - i)) - 1);
      __m512 wv[R];
      for (int r = 0; r < R; ++r) wv[r] = Loader::load(w + r * cols + i, m);
      for (int t = 0; t < T; ++t) {
        const __m512 xv = _mm512_maskz_loadu_ps(m, x + t * cols + i);
        for (int r = 0; r < R; ++r) acc[r][t][0] = _mm512_fmadd_ps(wv[r], xv, acc[r][t][0]);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) {
        __m512 a = acc[r][t][0];
        for (int u = 1; u < U; ++u) a = _mm512_add_ps(a, acc[r][t][u]);
        out[r][t] = _mm512_reduce_add_ps(a);
      }
  }
};

inline __m512 scale_pair(uint16_t d0, uint16_t d1) {
  return _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_set1_ps(_cvtsh_ss(d0))), _mm256_set1_ps(_cvtsh_ss(d1)), 1);
}

// Weights of two consecutive blocks as 64 unsigned bytes (the offset removed later with the
// activation sums): Q8_0 as q + 128, Q4_0 as q + 8 (its stored nibbles).
inline __m512i unsigned_pair(const BlockQ8_0* w) {
  const __m512i v = _mm512_inserti64x4(
      _mm512_castsi256_si512(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[0].qs))),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[1].qs)), 1);
  return _mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0x80)));
}
inline __m512i unsigned_pair(const BlockQ4_0* w) {
  const __m256i low4 = _mm256_set1_epi8(0x0f);
  // [qs0 | qs1] -> 128-bit lanes [lo0, hi0, lo1, hi1]: element j of a block is the low
  // nibble of byte j, element j + 16 the high nibble.
  const __m256i raw = _mm256_set_m128i(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[1].qs)),
                                       _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[0].qs)));
  const __m256i lo = _mm256_and_si256(raw, low4);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4);
  const __m512i lohi = _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);  // [lo0, lo1, hi0, hi1]
  return _mm512_shuffle_i64x2(lohi, lohi, _MM_SHUFFLE(3, 1, 2, 0));
}
inline __m256i unsigned_one(const BlockQ8_0& w) {
  return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w.qs)),
                          _mm256_set1_epi8(static_cast<char>(0x80)));
}
inline __m256i unsigned_one(const BlockQ4_0& w) {
  const __m128i raw = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w.qs));
  const __m128i low4 = _mm_set1_epi8(0x0f);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(raw, 4), low4), _mm_and_si128(raw, low4));
}
// log2 of the weight offset over 8 (each block's 8 lanes subtract offset/8 · Σa).
template <class Block>
constexpr int kOffsetShift = sizeof(Block) == sizeof(BlockQ8_0) ? 4 : 0;  // 128/8 = 16, 8/8 = 1

// int8 block formats: Σ (w + offset)·a − offset·Σa per block, exact in int32.
template <class Block>
struct BlockRowDot {
  const MatmulJob* job;
  template <int R, int T>
  void run(int64_t row, int64_t t0, float (*out)[kTokenTile]) const {
    const QuantizedActs& xq = *job->xq;
    const int64_t blocks = xq.blocks;
    const Block* w = static_cast<const Block*>(job->w->data) + row * blocks;
    __m512 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    int64_t b = 0;
    for (; b + 2 <= blocks; b += 2) {
      __m512i wq[R];
      __m512 dw[R];
      for (int r = 0; r < R; ++r) {
        wq[r] = unsigned_pair(w + r * blocks + b);
        dw[r] = scale_pair(w[r * blocks + b].d, w[r * blocks + b + 1].d);
      }
      for (int t = 0; t < T; ++t) {
        const __m512i a = _mm512_loadu_si512(xq.q(t0 + t) + b * kQK);
        // vpdpbusd adds onto its first operand: start from −offset·Σa instead of zero.
        const __m512i minus_offset = _mm512_sub_epi32(
            _mm512_setzero_si512(), _mm512_slli_epi32(_mm512_loadu_si512(xq.sum(t0 + t) + b * 8), kOffsetShift<Block>));
        const __m512 da = _mm512_loadu_ps(xq.d(t0 + t) + b * 8);
        for (int r = 0; r < R; ++r) {
          const __m512i dot = _mm512_dpbusd_epi32(minus_offset, wq[r], a);
          acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[r], da), acc[r][t]);
        }
      }
    }
    float tail[R][T] = {};
    if (b < blocks) {  // an odd block count: the last block on 256-bit registers
      for (int r = 0; r < R; ++r) {
        const __m256i wq = unsigned_one(w[r * blocks + b]);
        const __m256 dw = _mm256_set1_ps(_cvtsh_ss(w[r * blocks + b].d));
        for (int t = 0; t < T; ++t) {
          const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.q(t0 + t) + b * kQK));
          const __m256i offset = _mm256_slli_epi32(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq.sum(t0 + t) + b * 8)), kOffsetShift<Block>);
          const __m256i dot = _mm256_sub_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), wq, a), offset);
          tail[r][t] = hsum256(_mm256_mul_ps(_mm256_cvtepi32_ps(dot), _mm256_mul_ps(dw, _mm256_loadu_ps(xq.d(t0 + t) + b * 8))));
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[r][t] = _mm512_reduce_add_ps(acc[r][t]) + tail[r][t];
  }
};

// Q4R (tensor/quant.h): one 32-byte load and three operations give two whole blocks, and
// the two scales come from one 4-byte load.
struct Q4rRowDot {
  const MatmulJob* job;
  template <int R, int T>
  void run(int64_t row, int64_t t0, float (*out)[kTokenTile]) const {
    const QuantizedActs& xq = *job->xq;
    const int64_t row_bytes = job->w->row_bytes(), cols = job->w->cols;
    const uint8_t* base = static_cast<const uint8_t*>(job->w->data) + row * row_bytes;
    const __m256i low4 = _mm256_set1_epi8(0x0f);
    const __m512i pair_index = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    __m512 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    for (int64_t b = 0; b < xq.blocks; b += 2) {
      __m512i wq[R];
      __m512 dw[R];
      for (int r = 0; r < R; ++r) {
        const uint8_t* wr = base + r * row_bytes;
        const __m256i raw = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wr + b * 16));
        wq[r] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_and_si256(raw, low4)),
                                   _mm256_and_si256(_mm256_srli_epi16(raw, 4), low4), 1);
        int32_t two_scales;
        __builtin_memcpy(&two_scales, wr + cols / 2 + b * 2, 4);
        dw[r] = _mm512_permutexvar_ps(pair_index, _mm512_castps128_ps512(_mm_cvtph_ps(_mm_cvtsi32_si128(two_scales))));
      }
      for (int t = 0; t < T; ++t) {
        const __m512i a = _mm512_loadu_si512(xq.q(t0 + t) + b * kQK);
        const __m512i minus_offset = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_loadu_si512(xq.sum(t0 + t) + b * 8));
        const __m512 da = _mm512_loadu_ps(xq.d(t0 + t) + b * 8);
        for (int r = 0; r < R; ++r) {
          const __m512i dot = _mm512_dpbusd_epi32(minus_offset, wq[r], a);
          acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw[r], da), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[r][t] = _mm512_reduce_add_ps(acc[r][t]);
  }
};

// bf16 weights × bf16 activations: vdpbf16ps multiplies 32 pairs and adds them in float32.
struct Bf16DotRowDot {
  const MatmulJob* job;
  template <int R, int T>
  void run(int64_t row, int64_t t0, float (*out)[kTokenTile]) const {
    const int64_t cols = job->w->cols;
    const uint16_t* w = static_cast<const uint16_t*>(job->w->data) + row * cols;
    const uint16_t* x = job->xb + t0 * cols;
    __m512 acc[R][T];
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
    for (int64_t i = 0; i < cols; i += 32) {
      // The column tail is masked: zeros add nothing.
      const __mmask32 m = cols - i >= 32 ? ~__mmask32(0) : static_cast<__mmask32>((1u << (cols - i)) - 1);
      __m512bh wv[R];
      for (int r = 0; r < R; ++r) wv[r] = (__m512bh)_mm512_maskz_loadu_epi16(m, w + r * cols + i);
      for (int t = 0; t < T; ++t) {
        const __m512bh xv = (__m512bh)_mm512_maskz_loadu_epi16(m, x + t * cols + i);
        for (int r = 0; r < R; ++r) acc[r][t] = _mm512_dpbf16_ps(acc[r][t], wv[r], xv);
      }
    }
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < T; ++t) out[r][t] = _mm512_reduce_add_ps(acc[r][t]);
  }
};

// Q4I / Q8I (tensor/quant.h): 16 rows in the 16 int32 lanes. Per 32-block, eight vpdpbusd
// each multiply 4 weights of every row by 4 broadcast activations; the float scaling then
// costs one conversion, one multiply and one FMA per block for all 16 rows, so the integer
// units do the work. Weights are unpacked once per block and serve up to 8 tokens.
constexpr int kInterleavedTokens = 8;
// Tokens whose int8 activations (with scales: ~1.3 bytes per column) stay in L2 while all of
// a thread's row groups pass by: 64 tokens of 6144 columns ~ 0.5 MB. Without this block the
// activations of a long prompt were streamed from memory once per 16 rows.
constexpr int64_t kInterleavedTokenBlock = 64;
// With two or more tokens (batched decode) a block's dot products take about as long as its
// bytes take to arrive, and the out-of-order window then holds too few blocks to keep enough
// memory reads in flight (one token: 46 GB/s on the LM head; four: ~20 GB/s). Asking for the
// weights ahead keeps them streaming. Measured (bench_batch_decode, 2 threads, 4 tokens vs 1)
// with one prefetch 32 blocks ahead: q8i LM head 2.3-2.6x -> 1.3-1.5x, q4s MLP shapes
// 1.6-2.3x -> 1.2-1.5x. Whole decode steps of 4 sequences (bench_decode_step q4): one
// prefetch 8 blocks ahead 75 ms, 16: 62 / 55 ms, 32: 62 / 52 ms, 64: 53 ms; later, alternated
// in one process, none 67-70 ms against 49-52 ms for 32 blocks ahead. Asking twice for each
// line, at 32 and at 96 blocks ahead, both with the L2 hint, beat every single distance
// (settings alternated round by round in one process, three runs: 46.2 / 46.7 / 50.0 ->
// 43.4 / 44.4 / 48.4 ms per step); a far request alone (64 or 96 blocks) did no better than
// the near one, and both requests with the L1 hint were worse than one (51.6-56.1 ms).
// One token is memory-bound with the hardware prefetchers alone and gets no prefetches.
constexpr int64_t kNearPrefetchBlocks = 32, kFarPrefetchBlocks = 96;

// Q4I: nibbles q + 8; wk[k] holds elements 4k..4k+3 of each row (k < 4: the low nibbles of
// chunk k, k >= 4: the high nibbles of chunk k - 4, i.e. elements 16 + ...).
struct Q4iFormat {
  static constexpr int64_t kHeaderBytes = 0;
  static constexpr int64_t kBlockBytes = kQ4iBlockBytes;
  static constexpr int64_t kScaleBytes = kQ4iRows * 2;
  static constexpr int kOffset = 8;
  static __m512 block_scales(const uint8_t* block) {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block)));
  }
  static void unpack(const uint8_t* values, __m512i (&wk)[8]) {
    const __m512i low4 = _mm512_set1_epi8(0x0f);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m512i raw = _mm512_loadu_si512(values + 64 * j);
      wk[j] = _mm512_and_si512(raw, low4);
      wk[4 + j] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), low4);
    }
  }
};
// Q8I: int8 values made unsigned (q + 128); wk[k] holds elements 4k..4k+3 of each row.
struct Q8iFormat {
  static constexpr int64_t kHeaderBytes = 0;
  static constexpr int64_t kBlockBytes = kQ8iBlockBytes;
  static constexpr int64_t kScaleBytes = kQ4iRows * 2;
  static constexpr int kOffset = 128;
  static __m512 block_scales(const uint8_t* block) { return Q4iFormat::block_scales(block); }
  static void unpack(const uint8_t* values, __m512i (&wk)[8]) {
    const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) wk[k] = _mm512_xor_si512(_mm512_loadu_si512(values + 64 * k), flip);
  }
};

// Q4S: Q4I's nibbles after 16 int8 scale codes; the rows' float scales head the group and
// are applied once, to the finished sums.
struct Q4sFormat {
  static constexpr int64_t kHeaderBytes = kQ4sHeaderBytes;
  static constexpr int64_t kBlockBytes = kQ4sBlockBytes;
  static constexpr int64_t kScaleBytes = kQ4iRows;
  static constexpr int kOffset = 8;
  static __m512 block_scales(const uint8_t* block) {
    return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block))));
  }
  static void unpack(const uint8_t* values, __m512i (&wk)[8]) { Q4iFormat::unpack(values, wk); }
};

inline __m512i broadcast4(const int8_t* a) {
  int32_t v;
  __builtin_memcpy(&v, a, 4);
  return _mm512_set1_epi32(v);
}

// acc + Σ w·a over 4-byte groups, a's 4 bytes broadcast from memory by vpdpbusd itself
// (GCC keeps _mm512_set1_epi32 a separate vpbroadcastd).
inline __m512i dpbusd_broadcast(__m512i acc, __m512i w, const int8_t* a) {
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*reinterpret_cast<const int32_t*>(a)));
  return acc;
}

// One group of 16 rows against tokens t0..t0+T-1: y[t][row0 + lane].
template <class Format, int T>
void interleaved_group(const MatmulJob& job, const uint8_t* group, int64_t row0, int64_t t0) {
  const QuantizedActs& xq = *job.xq;
  const int8_t* a[T];
  const float* da[T];
  const int32_t* sa[T];
  __m512 acc[T];
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) {
    acc[t] = _mm512_setzero_ps();
    a[t] = xq.q(t0 + t);
    da[t] = xq.d_once(t0 + t);
    sa[t] = xq.minus_offset_sum(Format::kOffset, t0 + t);
  }
  for (int64_t b = 0; b < xq.blocks; ++b) {
    const uint8_t* src = group + Format::kHeaderBytes + b * Format::kBlockBytes;
    if constexpr (T >= 2) {
#pragma GCC unroll 16
      for (int64_t o = 0; o < Format::kBlockBytes; o += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(src + kNearPrefetchBlocks * Format::kBlockBytes + o), _MM_HINT_T2);
        _mm_prefetch(reinterpret_cast<const char*>(src + kFarPrefetchBlocks * Format::kBlockBytes + o), _MM_HINT_T2);
      }
    }
    const __m512 dw = Format::block_scales(src);
    __m512i wk[8];
    Format::unpack(src + Format::kScaleBytes, wk);
    // Each lane is a whole row's block sum, so each lane removes the full offset·Σa.
    __m512i dot[T];
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) dot[t] = _mm512_set1_epi32(sa[t][b]);
    if constexpr (T >= 4) {
      // T independent chains cover vpdpbusd's latency: one chain per token, interleaved.
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k)
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) dot[t] = dpbusd_broadcast(dot[t], wk[k], a[t] + b * kQK + 4 * k);
    } else {
      // Few tokens: two chains per token (the low and high halves of the block).
      __m512i second[T];
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) second[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k)
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          dot[t] = _mm512_dpbusd_epi32(dot[t], wk[k], broadcast4(a[t] + b * kQK + 4 * k));
          second[t] = _mm512_dpbusd_epi32(second[t], wk[4 + k], broadcast4(a[t] + b * kQK + 16 + 4 * k));
        }
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) dot[t] = _mm512_add_epi32(dot[t], second[t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t)
      acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[t]), _mm512_mul_ps(dw, _mm512_set1_ps(da[t][b])), acc[t]);
  }
  if constexpr (Format::kHeaderBytes > 0) {  // per-row scales, applied once
    const __m512 row_scale = _mm512_loadu_ps(reinterpret_cast<const float*>(group));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) acc[t] = _mm512_mul_ps(acc[t], row_scale);
  }
#pragma GCC unroll 8
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(job.y + (t0 + t) * job.w->rows + row0, acc[t]);
}

template <class Format>
void group_tokens(const MatmulJob& job, const uint8_t* group, int64_t row0, int64_t t0, int64_t tokens) {
  switch (tokens) {
    case 8: interleaved_group<Format, 8>(job, group, row0, t0); break;
    case 7: interleaved_group<Format, 7>(job, group, row0, t0); break;
    case 6: interleaved_group<Format, 6>(job, group, row0, t0); break;
    case 5: interleaved_group<Format, 5>(job, group, row0, t0); break;
    case 4: interleaved_group<Format, 4>(job, group, row0, t0); break;
    case 3: interleaved_group<Format, 3>(job, group, row0, t0); break;
    case 2: interleaved_group<Format, 2>(job, group, row0, t0); break;
    default: interleaved_group<Format, 1>(job, group, row0, t0); break;
  }
}

// r0, r1: multiples of 16 (matmul splits rows in tiles of 16).
template <class Format>
void rows_interleaved(const MatmulJob& job, int64_t r0, int64_t r1) {
  const int64_t group_bytes = kQ4iRows * job.w->row_bytes();
  for (int64_t tb = 0; tb < job.n; tb += kInterleavedTokenBlock) {
    const int64_t te = min_i64(job.n, tb + kInterleavedTokenBlock);
    for (int64_t row0 = r0; row0 < r1; row0 += kQ4iRows) {
      const uint8_t* group = static_cast<const uint8_t*>(job.w->data) + row0 / kQ4iRows * group_bytes;
      for (int64_t t0 = tb; t0 < te; t0 += kInterleavedTokens)
        group_tokens<Format>(job, group, row0, t0, min_i64(kInterleavedTokens, te - t0));
    }
  }
}
void rows_q4i(const MatmulJob& job, int64_t r0, int64_t r1) { rows_interleaved<Q4iFormat>(job, r0, r1); }
void rows_q8i(const MatmulJob& job, int64_t r0, int64_t r1) { rows_interleaved<Q8iFormat>(job, r0, r1); }
void rows_q4s(const MatmulJob& job, int64_t r0, int64_t r1) { rows_interleaved<Q4sFormat>(job, r0, r1); }

void rows_f32(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile<kRows>(job, r0, r1, FloatRowDot<float, F32Loader>{&job});
}
void rows_bf16(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile<kRows>(job, r0, r1, FloatRowDot<uint16_t, Bf16Loader>{&job});
}
void rows_q8_0(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile<kRows>(job, r0, r1, BlockRowDot<BlockQ8_0>{&job});
}
void rows_q4_0(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile<kRows>(job, r0, r1, BlockRowDot<BlockQ4_0>{&job});
}

void rows_q4r(const MatmulJob& job, int64_t r0, int64_t r1) { for_each_tile<kRows>(job, r0, r1, Q4rRowDot{&job}); }
void rows_bf16_dot(const MatmulJob& job, int64_t r0, int64_t r1) {
  for_each_tile<kRows>(job, r0, r1, Bf16DotRowDot{&job});
}

}  // namespace

const KernelTable& avx512_kernels() {
  static const KernelTable table{rows_f32, rows_bf16, rows_q8_0, rows_q4_0, rows_q4r,
                                 rows_q4i, rows_q8i,  rows_q4s,  rows_bf16_dot};
  return table;
}

}  // namespace gemma4::kernels::detail
