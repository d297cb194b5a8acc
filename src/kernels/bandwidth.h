// Memory read bandwidth of this machine, measured: the ceiling decode speed is judged by.
#pragma once
#include <cstdint>

namespace gemma4::kernels {

// Streams a buffer much larger than the caches with all pool threads and returns the best
// of `repeats` passes in bytes per second. `bytes` 0 picks 512 MiB.
double measure_read_bandwidth(int64_t bytes = 0, int repeats = 3);

}  // namespace gemma4::kernels
