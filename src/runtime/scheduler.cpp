#include "runtime/scheduler.h"

#include <algorithm>
#include <chrono>

#include "base/error.h"

namespace gemma4 {
namespace {

using Clock = std::chrono::steady_clock;
double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::vector<uint64_t> keys_of(const SequenceRequest& r) {
  if (!r.keys.empty()) return r.keys;
  return std::vector<uint64_t>(r.ids.begin(), r.ids.end());
}

}  // namespace

// One request from the moment run() queues it until run() returns. Fields below `mu_` are
// guarded by the scheduler's mutex.
struct Scheduler::Job {
  const SequenceRequest* request = nullptr;
  std::vector<uint64_t> keys;
  int64_t max_tokens = 0;
  const std::atomic<bool>* cancel = nullptr;
  std::atomic<bool> sink_stopped{false};  // the caller's sink returned false
  Clock::time_point queued, admitted, first_token;

  // mu_
  std::vector<int64_t> undelivered;  // tokens the caller has not taken yet
  bool done = false;
  std::exception_ptr error;
  SequenceResult result;

  bool cancelled() const { return sink_stopped || (cancel && cancel->load()); }
};

// A sequence slot: a KV cache that outlives its requests (for prefix reuse) and the state of
// the request it currently serves. Only the worker thread touches a slot.
struct Scheduler::Slot {
  explicit Slot(KVCache c) : cache(std::move(c)) {}
  KVCache cache;
  std::vector<uint64_t> keys;  // one per cached position
  uint64_t last_used = 0;
  Job* job = nullptr;
  int64_t fed = 0;           // prompt positions already in the cache
  int64_t next_token[1] = {-1};  // decoding: the sampled token to feed next; -1 while prefilling
  int64_t generated = 0;
  Sampler sampler;
  bool prefilling() const { return next_token[0] < 0; }
};

Scheduler::Scheduler(std::shared_ptr<const TextDecoder> decoder, SchedulerOptions options)
    : decoder_(std::move(decoder)), options_(options) {
  check(options_.slots >= 1, "scheduler: at least one slot is needed", ExitCode::usage);
  check(options_.ctx_size >= 2, "scheduler: the context size must be at least 2 tokens", ExitCode::usage);
  options_.prefill_chunk = std::max<int64_t>(options_.prefill_chunk, 1);
  for (int i = 0; i < options_.slots; ++i)
    slots_.push_back(std::make_unique<Slot>(decoder_->new_cache(options_.sliding_slack)));
  thread_ = std::thread([this] { worker(); });
}

Scheduler::~Scheduler() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void Scheduler::pause() {
  std::lock_guard lock(mu_);
  paused_ = true;
}

void Scheduler::resume() {
  {
    std::lock_guard lock(mu_);
    paused_ = false;
  }
  work_cv_.notify_all();
}

int Scheduler::waiting() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(waiting_.size());
}

SchedulerStats Scheduler::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

SequenceResult Scheduler::run(const SequenceRequest& request, const TokenSink& sink, const std::atomic<bool>* cancel) {
  const int64_t prompt = static_cast<int64_t>(request.ids.size());
  check(prompt > 0, "empty prompt", ExitCode::bad_input);
  check(request.keys.empty() || request.keys.size() == request.ids.size(),
        "scheduler: keys and ids differ in length", ExitCode::usage);
  check(prompt < options_.ctx_size,
        "the prompt has " + std::to_string(prompt) + " tokens but the context holds at most " +
            std::to_string(options_.ctx_size) + " (--ctx-size): shorten the conversation",
        ExitCode::bad_input);
  Job job;
  job.request = &request;
  job.keys = keys_of(request);
  job.max_tokens = std::min(request.max_tokens, options_.ctx_size - prompt);
  job.cancel = cancel;
  job.queued = Clock::now();
  job.result.prompt_tokens = prompt;
  if (job.max_tokens <= 0) {
    job.result.finish = FinishReason::length;
    return job.result;
  }
  std::unique_lock lock(mu_);
  waiting_.push_back(&job);
  work_cv_.notify_all();
  std::vector<int64_t> tokens;
  for (;;) {
    done_cv_.wait(lock, [&] { return job.done || !job.undelivered.empty(); });
    tokens.swap(job.undelivered);
    const bool done = job.done;
    if (!tokens.empty() && !job.sink_stopped) {
      lock.unlock();  // the sink may block on a slow client: never hold the scheduler meanwhile
      if (!sink(tokens)) job.sink_stopped = true;
      lock.lock();
    }
    tokens.clear();
    if (done && job.undelivered.empty()) break;
  }
  if (job.error) std::rethrow_exception(job.error);
  return job.result;
}

void Scheduler::worker() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] {
        if (stopping_) return true;
        if (paused_) return false;
        if (!waiting_.empty()) return true;
        return std::any_of(slots_.begin(), slots_.end(), [](const auto& s) { return s->job != nullptr; });
      });
      if (stopping_) break;
    }
    step();
  }
  std::lock_guard lock(mu_);
  for (auto& slot : slots_)
    if (slot->job) finish_locked(*slot, FinishReason::cancelled);
  for (Job* job : waiting_) {
    job->result.finish = FinishReason::cancelled;
    job->done = true;
  }
  waiting_.clear();
  done_cv_.notify_all();
}

Scheduler::Slot* Scheduler::pick_slot_locked(const Job& job, int64_t* reusable) {
  Slot* best = nullptr;
  int64_t best_common = 0;
  Slot* oldest = nullptr;
  // At least one prompt token must be computed: its logits give the first new token.
  const int64_t limit = static_cast<int64_t>(job.keys.size()) - 1;
  for (auto& s : slots_) {
    if (s->job) continue;
    if (!oldest || s->last_used < oldest->last_used) oldest = s.get();
    int64_t common = 0;
    const int64_t n = std::min<int64_t>(limit, static_cast<int64_t>(s->keys.size()));
    while (common < n && s->keys[common] == job.keys[common]) ++common;
    while (common > 0 && !s->cache.can_truncate(common)) --common;
    if (common > best_common || (common == best_common && best && common > 0 && s->last_used < best->last_used)) {
      best = s.get();
      best_common = common;
    }
  }
  *reusable = best_common;
  return best_common > 0 ? best : oldest;
}

void Scheduler::admit_locked() {
  const auto now = Clock::now();
  while (!waiting_.empty()) {
    Job* job = waiting_.front();
    if (job->cancelled()) {  // left while queued: no slot needed
      waiting_.pop_front();
      job->result.finish = FinishReason::cancelled;
      job->result.queue_ms = ms_between(job->queued, now);
      job->done = true;
      ++stats_.cancelled;
      done_cv_.notify_all();
      continue;
    }
    int64_t reuse = 0;
    Slot* slot = pick_slot_locked(*job, &reuse);
    if (!slot) return;  // every slot is busy
    waiting_.pop_front();
    if (reuse > 0 && slot->cache.truncate(reuse)) {
      slot->keys.resize(reuse);
    } else {
      reuse = 0;
      slot->cache.clear();
      slot->keys.clear();
    }
    slot->job = job;
    slot->fed = reuse;
    slot->next_token[0] = -1;
    slot->generated = 0;
    SamplingOptions sampling = job->request->sampling;
    slot->sampler = Sampler(sampling);
    job->admitted = now;
    job->result.cached_tokens = reuse;
    job->result.queue_ms = ms_between(job->queued, now);
    stats_.cached_rows += reuse;
  }
}

void Scheduler::finish_locked(Slot& slot, FinishReason finish, std::exception_ptr error) {
  Job* job = slot.job;
  const auto now = Clock::now();
  job->result.finish = finish;
  job->result.generated_tokens = slot.generated;
  if (slot.generated > 0) {
    job->result.prefill_ms = ms_between(job->admitted, job->first_token);
    job->result.decode_ms = ms_between(job->first_token, now);
  } else {
    job->result.prefill_ms = ms_between(job->admitted, now);
  }
  job->error = std::move(error);
  job->done = true;
  if (job->error) ++stats_.failed;
  else if (finish == FinishReason::cancelled) ++stats_.cancelled;
  else ++stats_.completed;
  slot.job = nullptr;
  slot.last_used = ++use_clock_;
  done_cv_.notify_all();
}

bool Scheduler::step() {
  // Under the lock: drop cancelled sequences, admit waiting ones, build the batch.
  std::vector<Slot*> batch;
  std::vector<Chunk> chunks;
  int64_t decoding = 0, prefilled = 0;
  {
    std::lock_guard lock(mu_);
    for (auto& s : slots_)
      if (s->job && s->job->cancelled()) finish_locked(*s, FinishReason::cancelled);
    admit_locked();
    for (auto& s : slots_) {  // decode rows first: they never wait
      if (!s->job || s->prefilling()) continue;
      batch.push_back(s.get());
      chunks.push_back(Chunk{&s->cache, std::span<const int64_t>(s->next_token, 1), {}});
      ++decoding;
    }
    int64_t budget = options_.prefill_chunk;
    for (auto& s : slots_) {
      if (!s->job || !s->prefilling() || budget <= 0) continue;
      const SequenceRequest& r = *s->job->request;
      const int64_t n = std::min<int64_t>(budget, static_cast<int64_t>(r.ids.size()) - s->fed);
      Chunk chunk{&s->cache, std::span<const int64_t>(r.ids).subspan(s->fed, n), {}};
      for (const SoftToken& st : r.soft_tokens)
        if (st.index >= s->fed && st.index < s->fed + n) chunk.soft_tokens.push_back({st.index - s->fed, st.row});
      batch.push_back(s.get());
      chunks.push_back(std::move(chunk));
      budget -= n;
      prefilled += n;
    }
  }
  if (chunks.empty()) return false;

  // The forward runs without the lock: callers may queue and take tokens meanwhile.
  std::vector<float> logits;
  std::exception_ptr error;
  try {
    logits = decoder_->forward(chunks, LogitsMode::last);
  } catch (...) {
    error = std::current_exception();
  }

  std::lock_guard lock(mu_);
  ++stats_.steps;
  stats_.decode_rows += decoding;
  stats_.prefill_rows += prefilled;
  stats_.max_decode_batch = std::max(stats_.max_decode_batch, decoding);
  const int64_t vocab = decoder_->vocab_size();
  for (size_t i = 0; i < batch.size(); ++i) {
    Slot& s = *batch[i];
    if (error) {  // the caches may hold part of this step: forget them
      s.cache.clear();
      s.keys.clear();
      finish_locked(s, FinishReason::cancelled, error);
      continue;
    }
    Job& job = *s.job;
    const SequenceRequest& r = *job.request;
    if (s.prefilling()) {
      const int64_t n = static_cast<int64_t>(chunks[i].ids.size());
      s.keys.insert(s.keys.end(), job.keys.begin() + s.fed, job.keys.begin() + s.fed + n);
      s.fed += n;
      if (s.fed < static_cast<int64_t>(r.ids.size())) continue;  // more prompt to feed
    } else {
      s.keys.push_back(static_cast<uint64_t>(s.next_token[0]));
    }
    const int64_t token = s.sampler.sample(logits.data() + static_cast<int64_t>(i) * vocab, vocab);
    if (s.generated == 0) job.first_token = Clock::now();
    if (std::find(r.stop_ids.begin(), r.stop_ids.end(), token) != r.stop_ids.end()) {
      finish_locked(s, FinishReason::stop);
      continue;
    }
    ++s.generated;
    job.undelivered.push_back(token);
    done_cv_.notify_all();
    if (s.generated >= job.max_tokens) {
      finish_locked(s, FinishReason::length);
      continue;
    }
    s.next_token[0] = token;
  }
  return true;
}

}  // namespace gemma4
