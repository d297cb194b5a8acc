#include <gtest/gtest.h>

#include <random>

#include "base/error.h"
#include "text/generation_config.h"
#include "text/response_parser.h"
#include "text_fixtures.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;

TEST(ResponseParser, SpecExamples) {
  ParsedResponse r = parse_response("<|channel>thought\nThe user asks for 2+2. That is 4.<channel|>2 + 2 = **4**.<turn|>");
  EXPECT_EQ(r.thinking, "The user asks for 2+2. That is 4.");
  EXPECT_EQ(r.content, "2 + 2 = **4**.");
  EXPECT_TRUE(r.tool_calls.empty());

  r = parse_response("2 + 2 = 4.<turn|>");
  EXPECT_FALSE(r.thinking.has_value());
  EXPECT_EQ(r.content, "2 + 2 = 4.");

  r = parse_response(
      "<|channel>thought\nNeed weather.<channel|><|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>,unit:<|\"|>celsius<|\"|>}"
      "<tool_call|><|tool_response>");
  EXPECT_EQ(r.thinking, "Need weather.");
  EXPECT_FALSE(r.content.has_value());
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.tool_calls[0].arguments, json({{"city", "Paris"}, {"unit", "celsius"}}));
  EXPECT_TRUE(r.tool_calls[0].complete);

  r = parse_response(
      "<|tool_call>call:add{a:1,b:2.5}<tool_call|><|tool_call>call:set_flag{enabled:true,tags:[<|\"|>x<|\"|>,<|\"|>y<|\"|>]}"
      "<tool_call|><|tool_response>");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[0].arguments, json::parse(R"({"a": 1, "b": 2.5})"));
  EXPECT_TRUE(r.tool_calls[0].arguments["a"].is_number_integer());
  EXPECT_EQ(r.tool_calls[1].arguments, json::parse(R"({"enabled": true, "tags": ["x", "y"]})"));
  EXPECT_EQ(r.to_json()["tool_calls"][1]["function"]["name"], "set_flag");
}

TEST(ResponseParser, Quirks) {
  // A leading newline does not hide the thought (HF's regex would put it all in content).
  ParsedResponse r = parse_response("\n<|channel>thought\nhmm  \n<channel|>\n\nHi<turn|>ignored");
  EXPECT_EQ(r.thinking, "hmm");
  EXPECT_EQ(r.content, "Hi");
  // Stray closers, an empty thought channel at the end, an extra <tool_call|>.
  r = parse_response("Answer.<channel|><|channel>thought\n<channel|>");
  EXPECT_EQ(r.content, "Answer.");
  EXPECT_EQ(r.thinking, "");
  r = parse_response("<|tool_call>call:f{x:1}<tool_call|><tool_call|> \n<|tool_response>");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_FALSE(r.content.has_value());
  // Missing closers at the end of generation: best effort, marked incomplete.
  r = parse_response("<|channel>thought\nunfinished");
  EXPECT_EQ(r.thinking, "unfinished");
  r = parse_response("<|tool_call>call:f{a:<|\"|>open string");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].name, "f");
  EXPECT_EQ(r.tool_calls[0].arguments, json({{"a", "open string"}}));
  EXPECT_FALSE(r.tool_calls[0].complete);
  // A second call opened before the first closed.
  r = parse_response("<|tool_call>call:a{}<|tool_call>call:b{k: 2 }<tool_call|>");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[1].arguments, json({{"k", 2}}));
  // Continuing inside a thought after a tool response (prompt ended with <|channel>thought\n).
  r = parse_response("still thinking<channel|>Done.<turn|>", /*start_in_thinking=*/true);
  EXPECT_EQ(r.thinking, "still thinking");
  EXPECT_EQ(r.content, "Done.");
  // A channel without the "thought" name keeps all of its text.
  r = parse_response("<|channel>plan: x<channel|>ok");
  EXPECT_EQ(r.thinking, "plan: x");
  EXPECT_EQ(r.content, "ok");
}

TEST(ToolCallArgs, LenientValues) {
  bool complete = false;
  json v = parse_gemma_value(R"({ a : { b : [ 1 , { c : null } ] , d : -3e2 , e : "x\"y" } , f: bare words , g:<|"|>q<|"|>})", &complete);
  EXPECT_TRUE(complete);
  EXPECT_EQ(v, json::parse(R"({"a": {"b": [1, {"c": null}], "d": -300.0, "e": "x\"y"}, "f": "bare words", "g": "q"})"));
  EXPECT_EQ(parse_gemma_value("<|\"|>a,b}{<|\"|>"), "a,b}{");  // no escaping inside <|"|> strings
  EXPECT_EQ(parse_gemma_value("{<|\"|>quoted key<|\"|>:1}"), json({{"quoted key", 1}}));
  ParsedToolCall c = parse_tool_call("call:no_args{}");
  EXPECT_EQ(c.name, "no_args");
  EXPECT_EQ(c.arguments, json::object());
  EXPECT_TRUE(c.complete);
  c = parse_tool_call("garbage without braces");
  EXPECT_FALSE(c.complete);
  EXPECT_TRUE(c.arguments.is_object());
}

TEST(ToolCallArgs, RandomBytesNeverCrash) {
  std::mt19937 rng(1);
  const std::string alphabet = "{}[],:<|\"|> \n\\abc123.-e";
  for (int i = 0; i < 3000; ++i) {
    std::string s;
    size_t n = rng() % 64;
    for (size_t k = 0; k < n; ++k) s.push_back(i % 2 ? static_cast<char>(rng()) : alphabet[rng() % alphabet.size()]);
    ParsedToolCall c = parse_tool_call("call:f" + s);
    EXPECT_TRUE(c.arguments.is_object());
    parse_response("<|tool_call>call:f" + s);
  }
  std::string deep = "call:f{a:" + std::string(100000, '[');
  EXPECT_FALSE(parse_tool_call(deep).complete);
}

TEST(ResponseParser, StreamingInAnyChunksEqualsOneShot) {
  const std::string text =
      "<|channel>thought\nLet me think: 日本 😀  \n<channel|>  Sure.<|tool_call>call:get{q:<|\"|>a<b<|\"|>,n:[1,2]}"
      "<tool_call|><|tool_call>call:x{}<tool_call|>\n<|tool_response>";
  ParsedResponse whole = parse_response(text);
  for (size_t chunk = 1; chunk <= 9; ++chunk) {
    ResponseParser p;
    std::string thinking, content;
    int calls = 0;
    auto take = [&](const std::vector<ResponseEvent>& events) {
      for (const auto& e : events) {
        if (e.type == ResponseEvent::Type::thinking) thinking += e.text;
        if (e.type == ResponseEvent::Type::content) content += e.text;
        if (e.type == ResponseEvent::Type::tool_call) ++calls;
      }
    };
    for (size_t i = 0; i < text.size(); i += chunk) take(p.push(std::string_view(text).substr(i, chunk)));
    take(p.finish());
    EXPECT_EQ(p.result().to_json(), whole.to_json()) << "chunk " << chunk;
    EXPECT_EQ(thinking, *whole.thinking);
    EXPECT_EQ(content, *whole.content);
    EXPECT_EQ(calls, 2);
  }
  EXPECT_EQ(whole.thinking, "Let me think: 日本 😀");
  EXPECT_EQ(whole.content, "Sure.");
  EXPECT_EQ(whole.tool_calls[0].arguments, json::parse(R"({"q": "a<b", "n": [1, 2]})"));
}

TEST(ResponseParser, OverTokenIds) {
  const Tokenizer& tok = test::gemma4_tokenizer();
  const std::string text =
      "<|channel>thought\nCompute \xF4\x8F\xBF\xBF.<channel|>Result: 42<|tool_call>call:f{a:<|\"|>Paris<|\"|>}<tool_call|><|tool_response>";
  TokenResponseParser p(tok);
  for (int32_t id : tok.encode(text)) p.push(id);
  p.finish();
  EXPECT_EQ(p.result().to_json(), parse_response(text).to_json());
  EXPECT_EQ(p.result().thinking, "Compute \xF4\x8F\xBF\xBF.");
}

TEST(GenerationConfig, DefaultsAndFiles) {
  const Tokenizer& tok = test::gemma4_tokenizer();
  GenerationConfig d = GenerationConfig::from_json("", "", &tok);
  EXPECT_EQ(d.stop_ids, (std::vector<int32_t>{1, 50, 106}));
  EXPECT_EQ(d.top_k, 64);
  EXPECT_FLOAT_EQ(d.top_p, 0.95f);
  EXPECT_TRUE(d.is_stop(106));
  EXPECT_FALSE(d.is_stop(2));
  GenerationConfig g = GenerationConfig::from_json(R"({"eos_token_id": [1, 106], "top_k": 10, "temperature": 0.5})",
                                                   R"({"text_config": {"eos_token_id": 7}})", &tok);
  EXPECT_EQ(g.stop_ids, (std::vector<int32_t>{1, 7, 106}));
  EXPECT_EQ(g.top_k, 10);
  EXPECT_FLOAT_EQ(g.temperature, 0.5f);
  EXPECT_THROW(GenerationConfig::from_json("{oops", "", &tok), Error);
}

}  // namespace
}  // namespace gemma4
