#include "server/admission.h"

namespace gemma4::server {

Admission::Admission(int parallel, int max_queue, std::chrono::milliseconds queue_timeout)
    : parallel_(parallel < 1 ? 1 : parallel), max_queue_(max_queue < 0 ? 0 : max_queue), queue_timeout_(queue_timeout) {}

Admission::Outcome Admission::enter() {
  std::unique_lock lock(mu_);
  if (closed_) return Outcome::closed;
  if (active_ < parallel_) {
    ++active_;
    notify();
    return Outcome::admitted;
  }
  if (queued_ >= max_queue_) return Outcome::queue_full;
  ++queued_;
  notify();
  bool got = cv_.wait_for(lock, queue_timeout_, [&] { return closed_ || active_ < parallel_; });
  --queued_;
  Outcome outcome = closed_ ? Outcome::closed : got ? Outcome::admitted : Outcome::timed_out;
  if (outcome == Outcome::admitted) ++active_;
  notify();
  return outcome;
}

void Admission::leave() {
  {
    std::lock_guard lock(mu_);
    --active_;
    notify();
  }
  cv_.notify_all();  // a waiter takes the slot; wait_idle may be done
}

void Admission::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool Admission::wait_idle(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  return cv_.wait_until(lock, deadline, [&] { return active_ == 0; });
}

int64_t Admission::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

int64_t Admission::queued() const {
  std::lock_guard lock(mu_);
  return queued_;
}

void Admission::notify() {
  if (on_change_) on_change_(active_, queued_);
}

}  // namespace gemma4::server
