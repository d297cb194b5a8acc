// Admission control: at most `parallel` generations run at once, at most `max_queue` more wait
// for a slot. Beyond that a request is refused at once (429); one that waited too long, or that
// arrives while the server shuts down, is refused with 503. Never blocks forever.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace gemma4::server {

class Admission {
 public:
  enum class Outcome { admitted, queue_full, timed_out, closed };

  Admission(int parallel, int max_queue, std::chrono::milliseconds queue_timeout);

  // Waits for a slot. On `admitted` the caller must call leave() exactly once.
  Outcome enter();
  void leave();

  // Refuses every later enter() and wakes the waiting ones (graceful shutdown).
  void close();
  // Waits until no generation runs, or the deadline passes; true if none runs.
  bool wait_idle(std::chrono::steady_clock::time_point deadline);

  int64_t active() const;
  int64_t queued() const;
  // Called with (active, queued) after each change, under our lock (so updates arrive in order):
  // it must not call back into this object.
  void on_change(std::function<void(int64_t, int64_t)> fn) { on_change_ = std::move(fn); }

 private:
  void notify();  // with mu_ held

  const int parallel_, max_queue_;
  const std::chrono::milliseconds queue_timeout_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t active_ = 0, queued_ = 0;
  bool closed_ = false;
  std::function<void(int64_t, int64_t)> on_change_;
};

// Holds one admitted slot; leaves on destruction.
class AdmissionSlot {
 public:
  explicit AdmissionSlot(Admission& a) : admission_(&a) {}
  AdmissionSlot(const AdmissionSlot&) = delete;
  AdmissionSlot& operator=(const AdmissionSlot&) = delete;
  ~AdmissionSlot() { admission_->leave(); }

 private:
  Admission* admission_;
};

}  // namespace gemma4::server
