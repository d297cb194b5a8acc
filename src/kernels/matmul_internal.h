// Internals shared by the per-ISA matmul kernels (matmul_scalar / _avx2 / _avx512.cpp).
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/quant.h"
#include "tensor/weight.h"

namespace gemma4::kernels::detail {

// Activations quantized for the int8 dot-product kernels: per token row, `cols` int8 values
// in 32-blocks, each block with a float scale d and the sum of its int8 values (Q4_0 stores
// q + 8, so its dot product is Σ q_w·q_x − 8·Σ q_x). Scales and sums are stored 8 times per
// block so SIMD kernels load them as whole vectors next to their 8 int32 partial sums.
struct QuantizedActs {
  int64_t n = 0, cols = 0, blocks = 0;  // blocks per row = cols / 32
  // Bytes from one token's int8 values to the next: cols rounded up to a cache line plus one
  // line, never a multiple of 4 KiB. The kernels read 8 tokens' values in step; at cols =
  // 12288 (every row 12 KiB apart) they would all fall into one L1 set.
  int64_t q_stride = 0;
  // The vectors hold at least what n and cols need (they are reused, never shrunk).
  std::vector<int8_t> qs;  // [n][q_stride], the first cols bytes of each row used
  std::vector<float> d8;                // [n][blocks][8]
  std::vector<int32_t> sum8;            // [n][blocks][8]
  // For the row-interleaved kernels, which broadcast one value per token and block (a fraction
  // of d8/sum8's cache footprint): the scale once per block, and −8·Σa / −128·Σa, the offsets
  // Q4_0 (q + 8) and unsigned Q8 (q + 128) weights carry, ready as a vpdpbusd start value.
  std::vector<float> d1;                          // [n][blocks]
  std::vector<int32_t> minus8_sum, minus128_sum;  // [n][blocks]

  const int8_t* q(int64_t t) const { return qs.data() + t * q_stride; }
  const float* d(int64_t t) const { return d8.data() + t * blocks * 8; }
  const int32_t* sum(int64_t t) const { return sum8.data() + t * blocks * 8; }
  const float* d_once(int64_t t) const { return d1.data() + t * blocks; }
  const int32_t* minus_offset_sum(int offset, int64_t t) const {
    return (offset == 8 ? minus8_sum : minus128_sum).data() + t * blocks;
  }
};

// Fills qa from x[n][cols] (cols % 32 == 0). One implementation for every ISA, so all
// kernels see identical int8 inputs. lane_copies = false may leave d8 / sum8 unwritten
// (stale): the row-interleaved kernels read only d1 and the offset sums, and d8 / sum8 are
// two thirds of the bytes written, mostly to lines the weights streamed by since the last
// call have evicted.
void quantize_activations(const float* x, int64_t n, int64_t cols, QuantizedActs& qa, bool lane_copies = true);

// Whether the kernels of format f read QuantizedActs::d8 / sum8 (the non-interleaved block
// formats) rather than only d1 and the offset sums.
bool reads_lane_copies(WeightFormat f);

struct MatmulJob {
  const Weight* w;
  const float* x;              // [n][cols] float32 activations (float formats)
  const QuantizedActs* xq;     // quantized activations (block formats)
  const uint16_t* xb;          // [n][cols] activations rounded to bf16 (Bf16Mode::fast)
  int64_t n;
  float* y;                    // [n][rows]
};

// Computes y[t][r] for all t and r in [r0, r1).
using RowsKernel = void (*)(const MatmulJob& job, int64_t r0, int64_t r1);

struct KernelTable {
  RowsKernel f32, bf16, q8_0, q4_0, q4r, q4i, q8i, q4s;
  RowsKernel bf16_dot = nullptr;  // bf16 weights × bf16 activations (Bf16Mode::fast), if any
};

const KernelTable& scalar_kernels();
const KernelTable& avx2_kernels();
const KernelTable& avx512_kernels();

// How many tokens a kernel processes against one loaded weight row (rows are re-read from
// cache, not memory, for each such group) and how many rows form one cache-resident tile.
// Tokens per activation block kept in L2 while all of a thread's rows pass by (32 tokens of
// 6144 int8 columns with their scales and sums: 32·6144·3 B ≈ 0.6 MB; 1536 columns: 0.15 MB).
constexpr int kTokenTile = 4;
constexpr int64_t kRowTile = 16;
constexpr int64_t kTokenBlock = 32;

}  // namespace gemma4::kernels::detail
