#include "base/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define GEMMA4_PAUSE() _mm_pause()
#else
#define GEMMA4_PAUSE() ((void)0)
#endif

namespace gemma4 {
namespace {

thread_local bool t_inside_parallel_for = false;

// Waiting: about 10-50 µs of pause-spinning, then sched_yield, then (workers) a condition variable.
constexpr int kSpinsBeforeYield = 2000;
constexpr int kYieldsBeforeSleep = 200;

class ThreadPool {
 public:
  explicit ThreadPool(int threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this] { worker_loop(); });
  }
  ~ThreadPool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& t : workers_) t.join();
  }

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  void run(int64_t count, const std::function<void(int64_t)>& fn) {
    std::lock_guard<std::mutex> one_job_at_a_time(run_mutex_);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      job_ = &fn;
      count_ = count;
      next_.store(0);
      busy_workers_.store(static_cast<int>(workers_.size()));
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work_on_current_job();
    // A worker still in its last task usually finishes within microseconds; one that the OS
    // has descheduled (a machine busy with other work) needs this core, so stop spinning soon.
    for (int spin = 0; busy_workers_.load(std::memory_order_acquire) != 0; ++spin) {
      if (spin < kSpinsBeforeYield) {
        GEMMA4_PAUSE();
      } else {
        std::this_thread::yield();
      }
    }
    job_ = nullptr;
  }

 private:
  void work_on_current_job() {
    t_inside_parallel_for = true;
    for (int64_t i; (i = next_.fetch_add(1, std::memory_order_relaxed)) < count_;) (*job_)(i);
    t_inside_parallel_for = false;
  }

  void worker_loop() {
    uint64_t seen = 0;  // the generation at construction, so no job is missed
    for (;;) {
      // Spin a little first: the next loop usually follows within microseconds. Then yield
      // for a while (cheap when the core is idle, polite when it is not), then sleep.
      for (int spin = 0; spin < kSpinsBeforeYield && generation_.load(std::memory_order_acquire) == seen; ++spin)
        GEMMA4_PAUSE();
      for (int y = 0; y < kYieldsBeforeSleep && generation_.load(std::memory_order_acquire) == seen; ++y)
        std::this_thread::yield();
      if (generation_.load(std::memory_order_acquire) == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stopping_) return;
      work_on_current_job();
      busy_workers_.fetch_sub(1, std::memory_order_release);
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mutex_, run_mutex_;
  std::condition_variable wake_;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int> busy_workers_{0};
  const std::function<void(int64_t)>* job_ = nullptr;
  int64_t count_ = 0;
  bool stopping_ = false;
};

int hardware_threads() { return std::max(1u, std::thread::hardware_concurrency()); }

std::mutex g_pool_mutex;
std::unique_ptr<ThreadPool> g_pool;

ThreadPool& pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) g_pool = std::make_unique<ThreadPool>(hardware_threads());
  return *g_pool;
}

}  // namespace

int num_threads() { return pool().size(); }

void set_num_threads(int n) {
  if (n <= 0) n = hardware_threads();
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (g_pool && g_pool->size() == n) return;
  g_pool.reset();
  g_pool = std::make_unique<ThreadPool>(n);
}

void parallel_for(int64_t count, const std::function<void(int64_t)>& fn) {
  if (count <= 0) return;
  ThreadPool& p = pool();
  if (count == 1 || p.size() == 1 || t_inside_parallel_for) {
    for (int64_t i = 0; i < count; ++i) fn(i);
    return;
  }
  p.run(count, fn);
}

void parallel_ranges(int64_t total, int64_t align, const std::function<void(int64_t, int64_t)>& fn,
                     int chunks_per_thread) {
  if (total <= 0) return;
  align = std::max<int64_t>(1, align);
  const int64_t units = (total + align - 1) / align;
  const int64_t chunks = std::min<int64_t>(units, int64_t{num_threads()} * chunks_per_thread);
  const int64_t units_per_chunk = (units + chunks - 1) / chunks;
  const int64_t count = (units + units_per_chunk - 1) / units_per_chunk;
  parallel_for(count, [&](int64_t c) {
    const int64_t begin = c * units_per_chunk * align;
    const int64_t end = std::min(total, begin + units_per_chunk * align);
    fn(begin, end);
  });
}

void parallel_ranges_tapering(int64_t total, int64_t align, const std::function<void(int64_t, int64_t)>& fn) {
  if (total <= 0) return;
  align = std::max<int64_t>(1, align);
  const int64_t units = (total + align - 1) / align, divisor = 2 * int64_t{num_threads()};
  std::vector<int64_t> starts;  // in units, with `units` at the end
  for (int64_t start = 0; start < units; start += std::max<int64_t>(1, (units - start) / divisor))
    starts.push_back(start);
  starts.push_back(units);
  parallel_for(static_cast<int64_t>(starts.size()) - 1, [&](int64_t c) {
    fn(starts[c] * align, std::min(total, starts[c + 1] * align));
  });
}

}  // namespace gemma4
