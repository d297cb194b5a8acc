#include "base/large_buffer.h"

#include <sys/mman.h>

#include <mutex>
#include <string>

#include "base/error.h"

namespace gemma4 {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kChunkBytes = size_t{64} << 20;  // arena chunk for buffers under kChunkBytes / 4
constexpr size_t kAlignment = 64;

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

// One anonymous mapping of whole huge pages; unmapped when the last user lets go.
std::shared_ptr<uint8_t> map_huge(size_t bytes) {
  const size_t length = round_up(bytes, kHugePage);
  // Over-map by one huge page so the start can be aligned to it (THP needs aligned ranges).
  const size_t mapped = length + kHugePage;
  void* raw = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    throw Error("out of memory: could not map " + std::to_string(mapped >> 20) + " MiB for weights",
                ExitCode::failure);
  const uintptr_t base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(base, kHugePage);
  // Return the unaligned head and the unused tail to the system.
  if (aligned > base) munmap(raw, aligned - base);
  const uintptr_t end = base + mapped, used_end = aligned + length;
  if (end > used_end) munmap(reinterpret_cast<void*>(used_end), end - used_end);
  madvise(reinterpret_cast<void*>(aligned), length, MADV_HUGEPAGE);  // advisory: fine if refused
  return std::shared_ptr<uint8_t>(reinterpret_cast<uint8_t*>(aligned),
                                  [length](uint8_t* p) { munmap(p, length); });
}

struct Arena {
  std::mutex mutex;
  std::weak_ptr<uint8_t> chunk;  // weak: a chunk no weight uses any more goes back to the system
  size_t used = 0;
};

Arena& arena() {
  static Arena a;
  return a;
}

}  // namespace

std::shared_ptr<uint8_t> allocate_large_buffer(size_t bytes) {
  if (bytes == 0) bytes = 1;
  if (bytes > kChunkBytes / 4) return map_huge(bytes);
  Arena& a = arena();
  const std::lock_guard<std::mutex> lock(a.mutex);
  const size_t size = round_up(bytes, kAlignment);
  std::shared_ptr<uint8_t> chunk = a.chunk.lock();
  if (!chunk || a.used + size > kChunkBytes) {
    chunk = map_huge(kChunkBytes);
    a.chunk = chunk;
    a.used = 0;
  }
  // Aliasing pointer: shares ownership of the whole chunk.
  std::shared_ptr<uint8_t> out(chunk, chunk.get() + a.used);
  a.used += size;
  return out;
}

}  // namespace gemma4
