// Storage for large, long-lived buffers (converted weights, the bandwidth probe).
//
// Decode streams every weight byte once per token, so what limits it is memory bandwidth.
// With 4 KiB pages each 4 KiB of streamed weights costs a TLB miss and a page walk; backed by
// 2 MiB transparent huge pages the same loop reads about 20% faster on this machine
// (23 -> 28 GB/s, bench/ measures it). Small buffers go to a shared arena of huge-page
// chunks so that many 1-5 MB weights do not each waste the tail of a 2 MiB page.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

namespace gemma4 {

// `bytes` of zero-initialized memory aligned to 64 bytes, backed by transparent huge pages
// where the kernel allows it (madvise mode). The memory stays valid while any copy of the
// returned pointer lives. Throws gemma4::Error when the system is out of memory.
std::shared_ptr<uint8_t> allocate_large_buffer(size_t bytes);

}  // namespace gemma4
