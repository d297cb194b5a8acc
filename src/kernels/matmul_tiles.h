// The loop nest shared by the SIMD matmul kernels: output rows in cache-sized tiles, tokens
// in groups of up to kTokenTile that share each loaded weight row.
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

// RowDot must provide `template <int T> void run(int64_t row, int64_t t0, float* out) const`
// computing out[t] = y[t0 + t][row] for t < T.
template <class RowDot>
void for_each_tile(const MatmulJob& job, int64_t r0, int64_t r1, const RowDot& dot) {
  const int64_t rows = job.w->rows;
  for (int64_t rt = r0; rt < r1; rt += kRowTile) {
    const int64_t re = min_i64(r1, rt + kRowTile);
    for (int64_t t0 = 0; t0 < job.n; t0 += kTokenTile) {
      const int tokens = static_cast<int>(min_i64(kTokenTile, job.n - t0));
      for (int64_t r = rt; r < re; ++r) {
        float out[kTokenTile];
        switch (tokens) {
          case 4: dot.template run<4>(r, t0, out); break;
          case 3: dot.template run<3>(r, t0, out); break;
          case 2: dot.template run<2>(r, t0, out); break;
          default: dot.template run<1>(r, t0, out); break;
        }
        for (int t = 0; t < tokens; ++t) job.y[(t0 + t) * rows + r] = out[t];
      }
    }
  }
}

}  // namespace
}  // namespace gemma4::kernels::detail
