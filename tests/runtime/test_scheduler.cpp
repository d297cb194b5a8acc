// The batching scheduler on the tiny goldens model: concurrent sequences decoded in one forward
// give exactly the tokens each gives alone; prefix reuse; cancellation frees the slot; limits.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "../model/golden_util.h"
#include "base/error.h"
#include "runtime/scheduler.h"
#include "runtime/session.h"

using namespace gemma4;
using namespace gemma4::test;

namespace {

// Deterministic prompts of different lengths (ids inside the tiny vocabulary; some longer than
// the sliding window so the ring buffers wrap).
std::vector<int64_t> prompt_of(int which, int64_t length) {
  std::vector<int64_t> ids = {2};
  for (int64_t i = 1; i < length; ++i) ids.push_back(3 + (i * 37 + which * 101) % 900);
  return ids;
}

std::vector<int64_t> generate_alone(const std::vector<int64_t>& prompt, int64_t n) {
  Session s(tiny_decoder());
  GenerateOptions o;
  o.max_tokens = n;
  o.ignore_eos = true;
  return s.generate(prompt, o);
}

SequenceRequest greedy_request(std::vector<int64_t> ids, int64_t max_tokens) {
  SequenceRequest r;
  r.ids = std::move(ids);
  r.max_tokens = max_tokens;
  return r;
}

struct Collected {
  std::vector<int64_t> tokens;
  SequenceResult result;
};

Collected run_collecting(Scheduler& s, const SequenceRequest& r, const std::atomic<bool>* cancel = nullptr) {
  Collected c;
  c.result = s.run(r, [&](std::span<const int64_t> t) {
    c.tokens.insert(c.tokens.end(), t.begin(), t.end());
    return true;
  }, cancel);
  return c;
}

void wait_until_waiting(const Scheduler& s, int n) {
  for (int i = 0; i < 5000 && s.waiting() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(s.waiting(), n);
}

// Runs the requests from one thread each, all admitted in the same step.
std::vector<Collected> run_together(Scheduler& s, const std::vector<SequenceRequest>& requests) {
  std::vector<Collected> out(requests.size());
  std::vector<std::thread> threads;
  s.pause();
  for (size_t i = 0; i < requests.size(); ++i)
    threads.emplace_back([&, i] { out[i] = run_collecting(s, requests[i]); });
  wait_until_waiting(s, static_cast<int>(requests.size()));
  s.resume();
  for (auto& t : threads) t.join();
  return out;
}

}  // namespace

TEST(Scheduler, FourConcurrentGreedySequencesMatchEachRunAlone) {
  const int64_t lengths[4] = {5, 12, 23, 31};
  const int64_t max_tokens[4] = {14, 9, 20, 6};
  std::vector<SequenceRequest> requests;
  for (int i = 0; i < 4; ++i) requests.push_back(greedy_request(prompt_of(i, lengths[i]), max_tokens[i]));

  Scheduler scheduler(tiny_decoder(), {.slots = 4, .ctx_size = 128, .prefill_chunk = 256});
  const auto got = run_together(scheduler, requests);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(got[i].tokens, generate_alone(requests[i].ids, max_tokens[i])) << "sequence " << i;
    EXPECT_EQ(got[i].result.finish, FinishReason::length);
    EXPECT_EQ(got[i].result.generated_tokens, max_tokens[i]);
    EXPECT_EQ(got[i].result.prompt_tokens, lengths[i]);
  }
  const SchedulerStats st = scheduler.stats();
  EXPECT_EQ(st.max_decode_batch, 4);  // the decode steps really were batched
  EXPECT_EQ(st.prefill_rows, 5 + 12 + 23 + 31);
  EXPECT_EQ(st.completed, 4);
  // One step prefills all four prompts; then the longest request needs 19 more decode steps.
  EXPECT_EQ(st.steps, 20);
}

TEST(Scheduler, ChunkedPrefillInterleavedWithDecodeGivesTheSameTokens) {
  // A prefill budget of 4 tokens per step: long prompts are fed over several steps while the
  // others already decode.
  std::vector<SequenceRequest> requests;
  for (int i = 0; i < 3; ++i) requests.push_back(greedy_request(prompt_of(i + 7, 6 + 11 * i), 10));
  Scheduler scheduler(tiny_decoder(), {.slots = 3, .ctx_size = 128, .prefill_chunk = 4});
  const auto got = run_together(scheduler, requests);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(got[i].tokens, generate_alone(requests[i].ids, 10)) << "sequence " << i;
  EXPECT_GE(scheduler.stats().max_decode_batch, 2);
}

TEST(Scheduler, FollowUpRequestReusesTheCachedPrefix) {
  Scheduler scheduler(tiny_decoder(), {.slots = 2, .ctx_size = 128});
  const auto first_prompt = prompt_of(3, 20);
  const auto first = run_collecting(scheduler, greedy_request(first_prompt, 6));
  EXPECT_EQ(first.result.cached_tokens, 0);

  // The next turn: the earlier prompt, the answer, then new tokens.
  std::vector<int64_t> next = first_prompt;
  next.insert(next.end(), first.tokens.begin(), first.tokens.end());
  for (int64_t t : {17, 230, 5, 99}) next.push_back(t);
  const auto second = run_collecting(scheduler, greedy_request(next, 8));
  // The cache holds the prompt and every generated token but the last (never fed back).
  EXPECT_EQ(second.result.cached_tokens, 20 + 5);
  EXPECT_EQ(second.tokens, generate_alone(next, 8));
  EXPECT_EQ(scheduler.stats().cached_rows, 25);
  EXPECT_EQ(scheduler.stats().prefill_rows, 20 + (static_cast<int64_t>(next.size()) - 25));

  // A prompt that diverges early reuses only the shared part.
  std::vector<int64_t> other(first_prompt.begin(), first_prompt.begin() + 7);
  other.push_back(888);
  const auto third = run_collecting(scheduler, greedy_request(other, 4));
  EXPECT_EQ(third.result.cached_tokens, 7);
  EXPECT_EQ(third.tokens, generate_alone(other, 4));

  // The same prompt again: everything but its last token comes from the cache.
  const auto again = run_collecting(scheduler, greedy_request(other, 4));
  EXPECT_EQ(again.result.cached_tokens, static_cast<int64_t>(other.size()) - 1);
  EXPECT_EQ(again.tokens, third.tokens);
}

TEST(Scheduler, CancelFreesTheSlotForTheNextRequest) {
  Scheduler scheduler(tiny_decoder(), {.slots = 1, .ctx_size = 200});
  std::atomic<bool> cancel{false};
  int64_t seen = 0;
  const auto result = scheduler.run(greedy_request(prompt_of(1, 8), 150), [&](std::span<const int64_t> t) {
    seen += static_cast<int64_t>(t.size());
    if (seen >= 3) cancel = true;
    return true;
  }, &cancel);
  EXPECT_EQ(result.finish, FinishReason::cancelled);
  EXPECT_LT(result.generated_tokens, 150);
  // The only slot is free again: the next request runs to its end.
  const auto next = run_collecting(scheduler, greedy_request(prompt_of(2, 9), 5));
  EXPECT_EQ(next.result.finish, FinishReason::length);
  EXPECT_EQ(next.tokens, generate_alone(prompt_of(2, 9), 5));

  // A sink that refuses tokens (client gone) stops the sequence too.
  const auto refused = scheduler.run(greedy_request(prompt_of(3, 9), 150),
                                     [](std::span<const int64_t>) { return false; });
  EXPECT_EQ(refused.finish, FinishReason::cancelled);
  EXPECT_LT(refused.generated_tokens, 150);
  EXPECT_EQ(scheduler.stats().cancelled, 2);
}

TEST(Scheduler, RequestCancelledWhileQueuedNeverTakesASlot) {
  Scheduler scheduler(tiny_decoder(), {.slots = 1, .ctx_size = 64});
  std::atomic<bool> cancel{true};
  scheduler.pause();
  Collected c;
  std::thread t([&] { c = run_collecting(scheduler, greedy_request(prompt_of(1, 6), 5), &cancel); });
  wait_until_waiting(scheduler, 1);
  scheduler.resume();
  t.join();
  EXPECT_EQ(c.result.finish, FinishReason::cancelled);
  EXPECT_TRUE(c.tokens.empty());
  EXPECT_EQ(scheduler.stats().prefill_rows, 0);
}

TEST(Scheduler, StopIdsEndASequenceAndAreNotDelivered) {
  const auto prompt = prompt_of(4, 10);
  const auto alone = generate_alone(prompt, 10);
  Scheduler scheduler(tiny_decoder(), {.slots = 1, .ctx_size = 64});
  SequenceRequest r = greedy_request(prompt, 10);
  r.stop_ids = {alone[4]};
  const auto got = run_collecting(scheduler, r);
  const size_t first = std::find(alone.begin(), alone.end(), alone[4]) - alone.begin();
  EXPECT_EQ(got.result.finish, FinishReason::stop);
  EXPECT_EQ(got.tokens, std::vector<int64_t>(alone.begin(), alone.begin() + first));
}

TEST(Scheduler, PromptAndOutputAreBoundedByTheContextSize) {
  Scheduler scheduler(tiny_decoder(), {.slots = 1, .ctx_size = 16});
  try {
    run_collecting(scheduler, greedy_request(prompt_of(1, 16), 4));
    FAIL() << "a prompt as long as the context was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("--ctx-size"), std::string::npos) << e.what();
  }
  EXPECT_THROW(run_collecting(scheduler, greedy_request({}, 4)), Error);
  // 12 prompt tokens leave room for 4 new ones, whatever max_tokens says.
  const auto got = run_collecting(scheduler, greedy_request(prompt_of(1, 12), 100));
  EXPECT_EQ(got.result.finish, FinishReason::length);
  EXPECT_EQ(got.result.generated_tokens, 4);
}
