// A fixed pool of worker threads for data-parallel loops (matmul rows, quantization).
//
// One process-wide pool, sized to the hardware threads unless set_num_threads() says
// otherwise (the `--threads` flag). parallel_for() runs fn(task) for every task in
// [0, count) on the workers plus the calling thread and returns when all are done.
// Workers spin briefly before sleeping, because decode issues hundreds of short loops
// per token and a sleeping thread takes tens of microseconds to wake.
#pragma once
#include <cstdint>
#include <functional>

namespace gemma4 {

// Threads used by parallel_for (the caller included). Defaults to the hardware threads.
int num_threads();
// Resizes the pool; n <= 0 means "all hardware threads". Not to be called inside parallel_for.
void set_num_threads(int n);

// Runs fn(i) for i in [0, count), spread over the pool. Nested calls run serially.
void parallel_for(int64_t count, const std::function<void(int64_t)>& fn);

// Splits [0, total) into about `num_threads() * chunks_per_thread` ranges whose starts are
// multiples of `align`, and runs fn(begin, end) on each in parallel.
void parallel_ranges(int64_t total, int64_t align, const std::function<void(int64_t, int64_t)>& fn,
                     int chunks_per_thread = 4);
// parallel_ranges with ranges that shrink as the work runs out (each takes 1/(2·threads) of
// what is left, at least `align`), so the threads finish within a small range of each other:
// with equal ranges the first thread done waits for about half a range of the last one
// (for a decode step's many short matmuls, 5-8% of the step).
void parallel_ranges_tapering(int64_t total, int64_t align, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace gemma4
