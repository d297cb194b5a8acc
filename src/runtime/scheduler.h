// Continuous batching: several sequences share one text decoder, and each decoding step of all of
// them is ONE batched forward (one pass over the weights serves every sequence; decode is
// bandwidth-bound, so a batch of 4 costs little more than 1).
//
// The scheduler owns `slots` sequence slots, each with its own KV cache (at most `ctx_size`
// tokens). One worker thread loops:
//   1. admit waiting requests into free slots (a slot whose cache already holds a prefix of the
//      new prompt is preferred: only the rest is prefilled — prefix reuse across requests);
//   2. build one batch: every decoding sequence's last token, plus prompt chunks of the
//      sequences still prefilling (at most `prefill_chunk` prompt tokens per step, so a long
//      prompt does not stall the others' decoding for long);
//   3. one forward; sample per sequence; hand the tokens to their callers; finish sequences on a
//      stop id, at their token limit, or when cancelled (the slot is free at the next step).
// Callers block in run(); their token callback runs on the CALLING thread (never on the worker),
// so a slow client cannot stall the batch. Nothing here knows about text or HTTP.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <vector>

#include "model/text_decoder.h"
#include "runtime/finish_reason.h"
#include "runtime/sampler.h"

namespace gemma4 {

struct SchedulerOptions {
  int slots = 1;               // sequences decoded at once
  int64_t ctx_size = 4096;     // tokens one sequence may hold (prompt + generated)
  int64_t prefill_chunk = 256; // prompt tokens fed per step (all prefilling sequences together)
  int64_t sliding_slack = 64;  // see KVCache: how far a cache can rewind on sliding layers
};

struct SequenceRequest {
  std::vector<int64_t> ids;
  // Per position: what the cache holds there (token id, or a media fingerprint for soft
  // tokens); two prompts share a cached prefix only where their keys agree. Empty: the ids.
  std::vector<uint64_t> keys;
  // Soft tokens; index = absolute position in `ids`. The rows must stay alive until run() returns.
  std::vector<SoftToken> soft_tokens;
  int64_t max_tokens = 256;     // capped so the sequence fits ctx_size
  SamplingOptions sampling;
  std::vector<int64_t> stop_ids;  // a sampled stop id ends the sequence (it is not delivered)
};

struct SequenceResult {
  FinishReason finish = FinishReason::stop;  // stop, length or cancelled
  int64_t prompt_tokens = 0;
  int64_t cached_tokens = 0;     // prompt tokens taken from a slot's cache (not computed again)
  int64_t generated_tokens = 0;  // delivered tokens (a final stop id excluded)
  double queue_ms = 0;           // waiting for a slot
  double prefill_ms = 0;         // admission to the first token
  double decode_ms = 0;          // first token to the end
};

// Counters for tests, metrics and benchmarks.
struct SchedulerStats {
  int64_t steps = 0;              // batched forwards
  int64_t decode_rows = 0;        // decode tokens computed (over all steps)
  int64_t prefill_rows = 0;       // prompt tokens computed
  int64_t cached_rows = 0;        // prompt tokens reused from caches
  int64_t max_decode_batch = 0;   // most sequences decoded in one forward
  int64_t completed = 0, cancelled = 0, failed = 0;
};

// Receives the tokens generated since the previous call (on the caller's thread). Returns false
// to stop the sequence (client gone, a stop string matched): it then ends as cancelled.
using TokenSink = std::function<bool(std::span<const int64_t> tokens)>;

class Scheduler {
 public:
  Scheduler(std::shared_ptr<const TextDecoder> decoder, SchedulerOptions options);
  ~Scheduler();  // cancels what is still running and joins the worker
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs one sequence to its end; blocks. Thread-safe. `cancel` (optional) is polled every
  // step. Throws Error(bad_input) for an empty prompt or one that does not fit ctx_size, and
  // rethrows a failure of the forward (the slot's cache is then dropped).
  SequenceResult run(const SequenceRequest& request, const TokenSink& sink,
                     const std::atomic<bool>* cancel = nullptr);

  // Holds the worker before its next step (admission included) until resume(): lets a test (or
  // a benchmark) queue several requests and have them start in the same step.
  void pause();
  void resume();
  int waiting() const;  // requests not yet admitted to a slot

  SchedulerStats stats() const;
  const SchedulerOptions& options() const { return options_; }
  const TextDecoder& decoder() const { return *decoder_; }

 private:
  struct Job;
  struct Slot;
  void worker();
  void admit_locked();
  Slot* pick_slot_locked(const Job& job, int64_t* reusable);
  bool step();  // one batched forward; false when there was nothing to do
  void finish_locked(Slot& slot, FinishReason finish, std::exception_ptr error = nullptr);

  std::shared_ptr<const TextDecoder> decoder_;
  SchedulerOptions options_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::deque<Job*> waiting_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;  // worker: new job, resume, shutdown
  std::condition_variable done_cv_;  // callers: tokens or an end
  bool paused_ = false, stopping_ = false;
  uint64_t use_clock_ = 0;  // orders slots by last use (least recently used is evicted first)
  SchedulerStats stats_;
  std::thread thread_;
};

}  // namespace gemma4
