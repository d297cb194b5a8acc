// ModelBackend (the real backend of `gemma4 serve`) on a tiny random model with the real Gemma 4
// tokenizer: concurrent requests are batched and give what each gives alone, follow-up turns
// reuse the cached prefix, cancellation, limits, bad media, stop strings, forced tool calls.
#include <gtest/gtest.h>

#include <thread>

#include "../cli/cli_model.h"
#include "base/error.h"
#include "runtime/engine.h"
#include "server/model_backend.h"

using namespace gemma4;
using namespace gemma4::server;

namespace {

std::shared_ptr<const Engine> engine() {
  static std::shared_ptr<const Engine> e = Engine::load(test::cli_model_dir());
  return e;
}

ModelBackendOptions backend_options(int slots, int64_t ctx = 1024) {
  ModelBackendOptions o;
  o.model_id = "tiny";
  o.scheduler.slots = slots;
  o.scheduler.ctx_size = ctx;
  return o;
}

server::ChatRequest user_request(const std::string& text, int64_t max_tokens = 12) {
  server::ChatRequest r;
  r.messages = nlohmann::json::array({{{"role", "user"}, {"content", text}}});
  r.sampling.temperature = 0;  // greedy: reproducible
  r.sampling.max_tokens = max_tokens;
  return r;
}

struct Answer {
  std::string reasoning, content;
  std::vector<server::ToolCall> tool_calls;
  GenerationResult result;
};

Answer ask(ModelBackend& backend, const server::ChatRequest& r) {
  Answer a;
  CancelFlag cancel{false};
  a.result = backend.generate(r, [&](const Delta& d) {
    a.reasoning += d.reasoning;
    a.content += d.content;
    a.tool_calls.insert(a.tool_calls.end(), d.tool_calls.begin(), d.tool_calls.end());
    return true;
  }, cancel);
  return a;
}

}  // namespace

TEST(ModelBackend, ConcurrentRequestsAreBatchedAndMatchEachRunAlone) {
  const std::vector<std::string> questions = {"Hello there", "What is the capital of France?",
                                              "Write a haiku about the sea, please.", "2+2?"};
  std::vector<Answer> alone;
  {
    ModelBackend one(engine(), backend_options(1));
    for (const auto& q : questions) alone.push_back(ask(one, user_request(q)));
  }
  ModelBackend four(engine(), backend_options(4));
  std::vector<Answer> together(questions.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < questions.size(); ++i)
    threads.emplace_back([&, i] { together[i] = ask(four, user_request(questions[i])); });
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < questions.size(); ++i) {
    EXPECT_EQ(together[i].content, alone[i].content) << questions[i];
    EXPECT_EQ(together[i].reasoning, alone[i].reasoning) << questions[i];
    EXPECT_EQ(together[i].result.usage.completion_tokens, alone[i].result.usage.completion_tokens);
    EXPECT_EQ(together[i].result.usage.prompt_tokens, alone[i].result.usage.prompt_tokens);
    EXPECT_GT(together[i].result.usage.prompt_tokens, 5);
  }
  EXPECT_EQ(four.scheduler().stats().completed, 4);
}

TEST(ModelBackend, FollowUpTurnReusesTheCachedConversation) {
  ModelBackend backend(engine(), backend_options(2));
  server::ChatRequest first = user_request("Tell me about the moon.", 6);
  const Answer a = ask(backend, first);
  EXPECT_EQ(a.result.usage.cached_prompt_tokens, 0);

  server::ChatRequest second = first;
  second.messages.push_back({{"role", "assistant"}, {"content", a.content}});
  second.messages.push_back({{"role", "user"}, {"content", "And the sun?"}});
  const Answer b = ask(backend, second);
  // Everything up to the first answer's start is shared (the answer itself is re-tokenized from
  // its text, which need not give the sampled ids back for a random model).
  EXPECT_GE(b.result.usage.cached_prompt_tokens, a.result.usage.prompt_tokens - 3);
  EXPECT_LT(b.result.usage.cached_prompt_tokens, b.result.usage.prompt_tokens);
  EXPECT_GT(backend.scheduler().stats().cached_rows, 0);
}

TEST(ModelBackend, CancelEndsTheGenerationAndFreesTheSlot) {
  ModelBackend backend(engine(), backend_options(1));
  CancelFlag cancel{false};
  int deltas = 0;
  const GenerationResult r = backend.generate(user_request("Count to one hundred.", 200), [&](const Delta&) {
    if (++deltas == 2) cancel = true;
    return true;
  }, cancel);
  EXPECT_EQ(r.finish, FinishReason::cancelled);
  EXPECT_LT(r.usage.completion_tokens, 200);
  // A sink that cannot deliver (client gone) cancels as well.
  CancelFlag never{false};
  const GenerationResult gone = backend.generate(user_request("Count again.", 200),
                                                 [](const Delta&) { return false; }, never);
  EXPECT_EQ(gone.finish, FinishReason::cancelled);
  EXPECT_LT(gone.usage.completion_tokens, 200);
  EXPECT_EQ(backend.scheduler().stats().cancelled, 2);
  // The only slot is free again.
  const Answer next = ask(backend, user_request("Hi", 3));
  EXPECT_EQ(next.result.finish, FinishReason::length);
}

TEST(ModelBackend, LimitsAndBadMediaAreBadInput) {
  ModelBackend backend(engine(), backend_options(1, 32));
  std::string long_text;
  for (int i = 0; i < 40; ++i) long_text += "word ";
  try {
    ask(backend, user_request(long_text));
    FAIL() << "a prompt longer than --ctx-size was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
  }
  server::ChatRequest image = user_request("what is this?");
  image.messages[0]["content"] = nlohmann::json::array(
      {{{"type", "image_url"}, {"media_index", 0}}, {{"type", "text"}, {"text", "what is this?"}}});
  image.media.push_back({MediaItem::Kind::image, "image/png", "definitely not a png"});
  try {
    ask(backend, image);
    FAIL() << "an undecodable image was accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(e.code() == ExitCode::bad_input || e.code() == ExitCode::unsupported) << e.what();
  }
  // The backend still serves afterwards.
  EXPECT_EQ(ask(backend, user_request("Hi", 2)).result.usage.completion_tokens, 2);
}

TEST(ModelBackend, NamedToolChoiceForcesACallToThatTool) {
  ModelBackend backend(engine(), backend_options(1));
  server::ChatRequest r = user_request("Weather in Paris?", 24);
  r.tools = nlohmann::json::array({{{"type", "function"},
                                    {"function",
                                     {{"name", "get_weather"},
                                      {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});
  r.tool_choice = "get_weather";
  const Answer a = ask(backend, r);
  ASSERT_EQ(a.tool_calls.size(), 1u) << a.content;
  EXPECT_EQ(a.tool_calls[0].name, "get_weather");
  EXPECT_TRUE(a.tool_calls[0].arguments.is_object());
  EXPECT_EQ(a.result.finish, FinishReason::tool_calls);
}

TEST(StopStringFilter, CutsAtTheFirstMatchAcrossPieces) {
  StopStringFilter f({"STOP", "xy"});
  EXPECT_EQ(f.push("hello S"), "hello ");  // "S" may start "STOP"
  EXPECT_EQ(f.push("T"), "");
  EXPECT_EQ(f.push("ar"), "STar");          // no longer a match
  EXPECT_EQ(f.push(" x"), " ");
  EXPECT_EQ(f.push("yz"), "");
  EXPECT_TRUE(f.matched());
  EXPECT_EQ(f.push("more"), "");
  EXPECT_EQ(f.finish(), "");

  StopStringFilter g({"END"});
  EXPECT_EQ(g.push("the EN"), "the ");
  EXPECT_EQ(g.finish(), "EN");  // generation ended: what was held back is content
  EXPECT_FALSE(g.matched());

  StopStringFilter none({});
  EXPECT_EQ(none.push("anything"), "anything");
}
