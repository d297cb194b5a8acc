// The loop nest shared by the SIMD matmul kernels: output rows in cache-sized tiles; inside
// a tile, micro-tiles of R rows × T tokens (T <= kTokenTile) so each loaded weight vector
// serves T tokens and each loaded activation vector serves R rows.
//
// Included only by the per-ISA files; everything is in an anonymous namespace so each ISA's
// copy stays in its own translation unit (no inline function compiled with AVX-512 flags can
// be picked by the linker for code that runs on an older CPU).
#pragma once
#include <cstdint>

#include "kernels/matmul_internal.h"

namespace gemma4::kernels::detail {
namespace {

inline int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }

// Runs dot.run<R, T>(row, t0, out) with T = tokens and stores out[r][t] into y.
template <int R, class RowDot>
void micro_tile(const MatmulJob& job, const RowDot& dot, int64_t row, int64_t t0, int tokens) {
  float out[R][kTokenTile];
  switch (tokens) {
    case 4: dot.template run<R, 4>(row, t0, out); break;
    case 3: dot.template run<R, 3>(row, t0, out); break;
    case 2: dot.template run<R, 2>(row, t0, out); break;
    default: dot.template run<R, 1>(row, t0, out); break;
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < tokens; ++t) job.y[(t0 + t) * job.w->rows + row + r] = out[r][t];
}

// RowDot must provide `template <int R, int T> void run(int64_t row, int64_t t0,
// float (*out)[kTokenTile]) const` computing out[r][t] = y[t0 + t][row + r], for R = 1 and
// R = Rows.
template <int Rows, class RowDot>
void for_each_tile(const MatmulJob& job, int64_t r0, int64_t r1, const RowDot& dot) {
  // Token blocks keep the activations a row tile meets in L2; row tiles keep the weights
  // those tokens meet in L1. Decode (n <= kTokenBlock) streams each weight row once.
  for (int64_t tb = 0; tb < job.n; tb += kTokenBlock) {
    const int64_t te = min_i64(job.n, tb + kTokenBlock);
    for (int64_t rt = r0; rt < r1; rt += kRowTile) {
      const int64_t re = min_i64(r1, rt + kRowTile);
      for (int64_t t0 = tb; t0 < te; t0 += kTokenTile) {
        const int tokens = static_cast<int>(min_i64(kTokenTile, te - t0));
        int64_t r = rt;
        for (; r + Rows <= re; r += Rows) micro_tile<Rows>(job, dot, r, t0, tokens);
        for (; r < re; ++r) micro_tile<1>(job, dot, r, t0, tokens);
      }
    }
  }
}

}  // namespace
}  // namespace gemma4::kernels::detail
