#include <gtest/gtest.h>

#include <fstream>

#include "server/api_error.h"
#include "server/base64.h"
#include "server/chat_request.h"
#include "test_util.h"

using namespace gemma4::server;
using json = nlohmann::json;

namespace {

ChatRequest parse(const json& body, RequestLimits limits = {}) { return parse_chat_request(body.dump(), limits); }

json user(const json& content) { return {{"role", "user"}, {"content", content}}; }

// The HTTP status and param of the ApiError that parsing `body` raises (0 if none).
std::pair<int, std::string> failure(const std::string& body, RequestLimits limits = {}) {
  try {
    parse_chat_request(body, limits);
  } catch (const ApiError& e) {
    return {e.status(), e.param()};
  }
  return {0, ""};
}
std::pair<int, std::string> failure(const json& body, RequestLimits limits = {}) { return failure(body.dump(), limits); }

}  // namespace

TEST(ChatRequest, ParsesTextAndSampling) {
  auto r = parse({{"model", "gemma"},
                  {"messages", {{{"role", "system"}, {"content", "be brief"}}, user("hi")}},
                  {"temperature", 0.5}, {"top_p", 0.9}, {"top_k", 40}, {"seed", 42}, {"max_tokens", 100},
                  {"stop", "END"}, {"stream", true}, {"stream_options", {{"include_usage", true}}}});
  EXPECT_EQ(r.model, "gemma");
  ASSERT_EQ(r.messages.size(), 2u);
  EXPECT_EQ(r.messages[1]["content"], "hi");
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.top_k, 40);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.sampling.max_tokens, 100);
  EXPECT_EQ(r.sampling.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_FALSE(r.enable_thinking);
}

TEST(ChatRequest, MaxCompletionTokensWinsAndIsCapped) {
  RequestLimits limits;
  limits.max_tokens_cap = 500;
  EXPECT_EQ(parse({{"messages", {user("x")}}, {"max_tokens", 10}, {"max_completion_tokens", 20}}, limits).sampling.max_tokens, 20);
  EXPECT_EQ(parse({{"messages", {user("x")}}}, limits).sampling.max_tokens, limits.default_max_tokens);
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"max_tokens", 501}}, limits), std::make_pair(400, std::string("max_tokens")));
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"max_tokens", 0}}).second, "max_tokens");
}

TEST(ChatRequest, ThinkingSwitches) {
  EXPECT_TRUE(parse({{"messages", {user("x")}}, {"reasoning_effort", "medium"}}).enable_thinking);
  EXPECT_FALSE(parse({{"messages", {user("x")}}, {"reasoning_effort", "none"}}).enable_thinking);
  EXPECT_TRUE(parse({{"messages", {user("x")}}, {"chat_template_kwargs", {{"enable_thinking", true}}}}).enable_thinking);
  // The explicit template switch overrides the effort.
  EXPECT_FALSE(parse({{"messages", {user("x")}}, {"reasoning_effort", "high"},
                      {"chat_template_kwargs", {{"enable_thinking", false}}}}).enable_thinking);
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"reasoning_effort", "extreme"}}).second, "reasoning_effort");
}

TEST(ChatRequest, MediaPartsAreDecodedInMessageOrder) {
  std::string png = "\x89PNG fake", wav = "RIFF fake";
  auto r = parse({{"messages",
                   {user({{{"type", "text"}, {"text", "look"}},
                          {{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64," + base64_encode(png)}}}},
                          {{"type", "input_audio"}, {"input_audio", {{"data", base64_encode(wav)}, {"format", "wav"}}}}})}}});
  ASSERT_EQ(r.media.size(), 2u);
  EXPECT_EQ(r.media[0].kind, MediaItem::Kind::image);
  EXPECT_EQ(r.media[0].format, "image/png");
  EXPECT_EQ(r.media[0].bytes, png);
  EXPECT_EQ(r.media[1].kind, MediaItem::Kind::audio);
  EXPECT_EQ(r.media[1].format, "wav");
  EXPECT_EQ(r.media[1].bytes, wav);
  // The payloads leave the messages; an index takes their place.
  const auto& parts = r.messages[0]["content"];
  EXPECT_EQ(parts[1], json({{"type", "image_url"}, {"media_index", 0}}));
  EXPECT_EQ(parts[2], json({{"type", "input_audio"}, {"media_index", 1}}));
}

TEST(ChatRequest, MediaLimitsAndSources) {
  RequestLimits small;
  small.max_media_bytes = 16;
  auto image = [](const std::string& url) {
    return json{{"messages", {user({{{"type", "image_url"}, {"image_url", {{"url", url}}}}})}}};
  };
  EXPECT_EQ(failure(image("data:image/png;base64," + base64_encode(std::string(17, 'x'))), small).first, 413);
  EXPECT_EQ(failure(image("data:image/png;base64,@@@@")).first, 400);
  EXPECT_EQ(failure(image("data:text/plain;base64,QUJD")).first, 400);
  EXPECT_EQ(failure(image("https://example.com/cat.png")).first, 400);

  std::string dir = gemma4::test::temp_dir("chatreq");
  std::string path = dir + "/img.png";
  std::ofstream(path, std::ios::binary) << "pngbytes";
  EXPECT_EQ(failure(image("file://" + path)).first, 400);  // local files are off by default
  RequestLimits local;
  local.allow_local_files = true;
  EXPECT_EQ(parse(image("file://" + path), local).media.at(0).bytes, "pngbytes");
  EXPECT_EQ(failure(image(dir + "/missing.png"), local).first, 400);

  EXPECT_EQ(failure({{"messages", {user({{{"type", "input_audio"}, {"input_audio", {{"data", "QUJD"}, {"format", "aiff"}}}}})}}}).second,
            "messages[0].content[0].input_audio.format");
  // Media only in user turns.
  EXPECT_EQ(failure({{"messages", {{{"role", "system"}, {"content", {{{"type", "image_url"}, {"image_url", {{"url", "data:image/png;base64,QUJD"}}}}}}}}}}).first, 400);
}

TEST(ChatRequest, ToolsToolChoiceAndToolTurns) {
  json tools = {{{"type", "function"}, {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}}};
  auto r = parse({{"tools", tools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "get_weather"}}}}},
                  {"messages",
                   {user("weather?"),
                    {{"role", "assistant"}, {"content", nullptr},
                     {"tool_calls", {{{"id", "call_1"}, {"type", "function"},
                                      {"function", {{"name", "get_weather"}, {"arguments", "{\"city\":\"Paris\"}"}}}}}}},
                    {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "sunny"}}}}});
  EXPECT_EQ(r.tool_choice, "get_weather");
  EXPECT_EQ(r.tools.size(), 1u);
  // Arguments arrive as a JSON string and are handed on as an object.
  EXPECT_EQ(r.messages[1]["tool_calls"][0]["function"]["arguments"], json({{"city", "Paris"}}));
  EXPECT_EQ(r.messages[2]["tool_call_id"], "call_1");

  EXPECT_EQ(failure({{"messages", {user("x")}}, {"tool_choice", "required"}}).second, "tool_choice");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"tools", tools}, {"tool_choice", {{"type", "function"}, {"function", {{"name", "nope"}}}}}}).second,
            "tool_choice");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"tools", {{{"type", "function"}, {"function", {{"name", "bad name!"}}}}}}}).second,
            "tools[0].function.name");
  EXPECT_EQ(failure({{"messages", {{{"role", "assistant"}, {"tool_calls", {{{"function", {{"name", "f"}, {"arguments", "{oops"}}}}}}}}}}).second,
            "messages[0].tool_calls[0].function.arguments");
}

TEST(ChatRequest, RejectsMalformedRequestsWithTheField) {
  EXPECT_EQ(failure(std::string("{not json")).first, 400);
  EXPECT_EQ(failure(std::string("[1,2]")).first, 400);
  EXPECT_EQ(failure(std::string(100, '[') + std::string(100, ']')).first, 400);  // nesting bomb
  EXPECT_EQ(failure(json::object()).second, "messages");
  EXPECT_EQ(failure({{"messages", json::array()}}).second, "messages");
  EXPECT_EQ(failure({{"messages", "hi"}}).second, "messages");
  EXPECT_EQ(failure({{"messages", {{{"role", "robot"}, {"content", "x"}}}}}).second, "messages[0].role");
  EXPECT_EQ(failure({{"messages", {{{"content", "x"}}}}}).second, "messages[0].role");
  EXPECT_EQ(failure({{"messages", {{{"role", "user"}}}}}).second, "messages[0].content");
  EXPECT_EQ(failure({{"messages", {user(42)}}}).second, "messages[0].content");
  EXPECT_EQ(failure({{"messages", {user({{{"type", "video"}}})}}}).second, "messages[0].content[0].type");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"temperature", "hot"}}).second, "temperature");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"temperature", 3}}).second, "temperature");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"top_p", 0}}).second, "top_p");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"top_k", 1.5}}).second, "top_k");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"stream", "yes"}}).second, "stream");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"stop", {"a", "b", "c", "d", "e"}}}).second, "stop");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"stop", {""}}}).second, "stop");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"n", 2}}).second, "n");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"logprobs", true}}).second, "logprobs");
  EXPECT_EQ(failure({{"messages", {user("x")}}, {"response_format", {{"type", "json_object"}}}}).second, "response_format");
}

TEST(ChatRequest, NullMeansUnsetAndUnknownFieldsAreIgnored) {
  auto r = parse({{"messages", {user("x")}}, {"temperature", nullptr}, {"stop", nullptr}, {"user", "abc"},
                  {"metadata", {{"k", "v"}}}, {"n", 1}, {"frequency_penalty", 0}});
  EXPECT_FLOAT_EQ(r.sampling.temperature, 1.0f);
  EXPECT_TRUE(r.sampling.stop.empty());
}
