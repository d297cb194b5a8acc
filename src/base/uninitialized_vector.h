// std::vector whose sized constructor and resize() leave new elements default-initialized:
// for floats, not written at all. For large scratch buffers that are always written in full
// before they are read: value-initialization would zero every fresh page on one thread, where
// the kernels that write them first touch the pages on every thread of the pool anyway.
#pragma once
#include <memory>
#include <new>
#include <utility>
#include <vector>

namespace gemma4 {

template <class T>
struct DefaultInitAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  DefaultInitAllocator() = default;
  template <class U>
  DefaultInitAllocator(const DefaultInitAllocator<U>&) noexcept {}

  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

template <class T>
using UninitializedVector = std::vector<T, DefaultInitAllocator<T>>;

}  // namespace gemma4
