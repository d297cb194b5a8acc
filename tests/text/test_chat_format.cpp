#include <gtest/gtest.h>

#include "base/error.h"
#include "text/chat_format.h"
#include "text_fixtures.h"

namespace gemma4 {
namespace {

using json = nlohmann::json;
using Ids = std::vector<int32_t>;

TEST(ChatFormat, AllGoldenConversationsRenderExactly) {
  const Tokenizer& tok = test::gemma4_tokenizer();
  json cases = test::chat_cases();
  ASSERT_EQ(cases.size(), 17u);
  for (const json& c : cases) {
    RenderedPrompt p = render_chat(ChatRequest::from_json(c), tok.config_token("bos_token", "<bos>"));
    EXPECT_EQ(p.text, c["prompt"].get<std::string>()) << c["name"];
    EXPECT_EQ(tok.encode(p.text), c["ids"].get<Ids>()) << c["name"];
  }
}

ChatRequest request(const std::string& text) { return ChatRequest::parse(text); }

TEST(ChatFormat, MediaPartsAreListedInPromptOrder) {
  RenderedPrompt p = render_chat(request(R"({"messages": [{"role": "user", "content": [
      {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
      {"type": "text", "text": "and"},
      {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
      {"type": "image", "path": "/tmp/b.png"}]}]})"));
  EXPECT_EQ(p.text, "<bos><|turn>user\n<|image|>and<|audio|><|image|><turn|>\n<|turn>model\n");
  ASSERT_EQ(p.media.size(), 3u);
  EXPECT_EQ(p.media[0].kind, MediaKind::image);
  EXPECT_EQ(p.media[0].source, "data:image/png;base64,AAAA");
  EXPECT_EQ(p.media[1].kind, MediaKind::audio);
  EXPECT_EQ(p.media[1].source, "UklGRg==");
  EXPECT_EQ(p.media[1].format, "wav");
  EXPECT_EQ(p.media[2].source, "/tmp/b.png");
}

TEST(ChatFormat, ExpandMediaWrapsSoftTokensAndReportsRuns) {
  const Tokenizer& tok = test::gemma4_tokenizer();
  MediaTokens mt = MediaTokens::from_tokenizer(tok);
  EXPECT_EQ(mt.image, 258880);
  EXPECT_EQ(mt.image_begin, 255999);
  EXPECT_EQ(mt.audio_end, 258883);
  Ids ids = tok.encode("<bos><|turn>user\n<|image|>x<|audio|><turn|>\n");
  ExpandedPrompt e = expand_media(ids, {3, 2}, mt);
  Ids want = {2, 105, 2364, 107, 255999, 258880, 258880, 258880, 258882, 236781, 256000, 258881, 258881, 258883, 106, 107};
  EXPECT_EQ(e.ids, want);
  ASSERT_EQ(e.runs.size(), 2u);
  EXPECT_EQ(e.runs[0].kind, MediaKind::image);
  EXPECT_EQ(e.runs[0].begin, 5);
  EXPECT_EQ(e.runs[0].count, 3);
  EXPECT_EQ(e.runs[1].kind, MediaKind::audio);
  EXPECT_EQ(e.runs[1].begin, 11);
  EXPECT_EQ(e.runs[1].count, 2);
  EXPECT_THROW(expand_media(ids, {3}, mt), Error);        // fewer items than placeholders
  EXPECT_THROW(expand_media(ids, {3, 2, 1}, mt), Error);  // more items than placeholders
}

TEST(ChatFormat, OpenAiStringArgumentsAreDecoded) {
  const char* as_object = R"({"messages": [{"role": "user", "content": "w?"}, {"role": "assistant",
      "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": {"b": [1, 2.5, true, null], "a": "x"}}}]}]})";
  const char* as_string = R"({"messages": [{"role": "user", "content": "w?"}, {"role": "assistant",
      "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "{\"b\": [1, 2.5, true, null], \"a\": \"x\"}"}}]}]})";
  std::string a = render_chat(request(as_object)).text, b = render_chat(request(as_string)).text;
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("<|tool_call>call:f{a:<|\"|>x<|\"|>,b:[1,2.5,true,null]}<tool_call|><|tool_response>"), std::string::npos) << a;
}

TEST(ChatFormat, ToolResponsesAndFinalAnswerStayInOneModelTurn) {
  // Spec §3.4 F: a mapping response renders as sorted key:value pairs; a final assistant
  // message after the tool result continues the same model turn.
  std::string p = render_chat(request(R"({"messages": [
      {"role": "user", "content": "Weather?"},
      {"role": "assistant", "tool_calls": [{"function": {"name": "get_weather", "arguments": {"city": "Paris"}}}],
       "tool_responses": [{"name": "get_weather", "response": {"temp": 21, "sky": "sunny"}}]},
      {"role": "assistant", "content": "It is 21°C and sunny in Paris."}]})")).text;
  EXPECT_EQ(p,
            "<bos><|turn>user\nWeather?<turn|>\n<|turn>model\n<|tool_call>call:get_weather{city:<|\"|>Paris<|\"|>}"
            "<tool_call|><|tool_response>response:get_weather{sky:<|\"|>sunny<|\"|>,temp:21}<tool_response|>"
            "It is 21°C and sunny in Paris.<turn|>\n<|turn>model\n");
}

TEST(ChatFormat, RecentReasoningIsReplayedOldReasoningDropped) {
  std::string p = render_chat(request(R"({"enable_thinking": true, "messages": [
      {"role": "user", "content": "old"}, {"role": "assistant", "reasoning_content": "OLD", "content": "a"},
      {"role": "user", "content": "new"},
      {"role": "assistant", "reasoning_content": "NEW", "tool_calls": [{"id": "t", "function": {"name": "f", "arguments": null}}]},
      {"role": "tool", "tool_call_id": "t", "content": "ok"}]})")).text;
  EXPECT_EQ(p.find("OLD"), std::string::npos);
  EXPECT_NE(p.find("<|channel>thought\nNEW\n<channel|><|tool_call>call:f{}<tool_call|>"
                   "<|tool_response>response:f{value:<|\"|>ok<|\"|>}<tool_response|><|channel>thought\n"),
            std::string::npos)
      << p;
}

TEST(ChatFormat, GemmaValueFormattingFollowsPython) {
  EXPECT_EQ(format_gemma_value(json::parse("[1, 2.5, 1e-05, 1.0, 1e16, 0.0001, -3, 123456789.5]"), true),
            "[1,2.5,1e-05,1.0,1e+16,0.0001,-3,123456789.5]");
  EXPECT_EQ(format_gemma_value(json::parse(R"({"B": 1, "a": {"c": "x"}})"), true),
            "{<|\"|>a<|\"|>:{<|\"|>c<|\"|>:<|\"|>x<|\"|>},<|\"|>B<|\"|>:1}");  // dictsort ignores case
  EXPECT_EQ(format_gemma_value(json::parse(R"({"k": null, "t": false})"), false), "{k:null,t:false}");
}

TEST(ChatFormat, NestedToolSchemas) {
  std::string p = render_chat(request(R"({"tools": [{"type": "function", "function": {"name": "plan",
      "description": "Plan a trip.", "parameters": {"type": "object", "required": ["stops"], "properties": {
        "stops": {"type": "array", "description": "Places", "items": {"type": "object", "required": ["name"],
          "properties": {"name": {"type": "string"}, "days": {"type": "integer", "nullable": true}}}},
        "mode": {"type": "string", "enum": ["car", "train"]},
        "opts": {"type": "object", "properties": {"fast": {"type": "boolean"}}}}}}}],
      "messages": [{"role": "user", "content": "Go"}]})")).text;
  EXPECT_EQ(p,
            "<bos><|turn>system\n<|tool>declaration:plan{description:<|\"|>Plan a trip.<|\"|>,parameters:{properties:{"
            "mode:{enum:[<|\"|>car<|\"|>,<|\"|>train<|\"|>],type:<|\"|>STRING<|\"|>},"
            "opts:{properties:{fast:{type:<|\"|>BOOLEAN<|\"|>}},type:<|\"|>OBJECT<|\"|>},"
            "stops:{description:<|\"|>Places<|\"|>,items:{properties:{days:{nullable:true,type:<|\"|>INTEGER<|\"|>},"
            "name:{type:<|\"|>STRING<|\"|>}},required:[<|\"|>name<|\"|>],type:<|\"|>OBJECT<|\"|>},type:<|\"|>ARRAY<|\"|>}},"
            "required:[<|\"|>stops<|\"|>],type:<|\"|>OBJECT<|\"|>}}<tool|><turn|>\n<|turn>user\nGo<turn|>\n<|turn>model\n");
}

TEST(ChatFormat, BadRequestsAreClearErrors) {
  const char* bad[] = {
      "not json",
      "[]",
      R"({"messages": {}})",
      R"({"messages": [1]})",
      R"({"messages": [{"content": "no role"}]})",
      R"({"messages": [{"role": "user", "content": 5}]})",
      R"({"messages": [{"role": "user", "content": [7]}]})",
      R"({"messages": [{"role": "user", "content": [{"type": "text"}]}]})",
      // A part's "type" that is not a string (found by fuzz_chat_format: it escaped as a JSON
      // library exception; `gemma4 prompt` exited 1 with the library's message. The server
      // checks request fields itself first and answered 400 already).
      R"({"messages": [{"role": "user", "content": [{"type": false}]}]})",
      R"({"messages": [{"role": "tool", "content": [{"type": 3, "text": "x"}]}]})",
      R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "[1]"}}]}]})",
      R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{bad"}}]}]})",
      R"({"messages": [{"role": "assistant", "tool_calls": {}}]})",
      R"({"messages": [], "tools": [{"name": "f"}]})",
      R"({"messages": [], "enable_thinking": "yes"})",
  };
  for (const char* b : bad) EXPECT_THROW(ChatRequest::parse(b), Error) << b;
  // Absurd nesting in arguments: an error, not a stack overflow.
  std::string deep = std::string(5000, '[') + std::string(5000, ']');
  ChatRequest r = request(R"({"messages": [{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": {"x": )" +
                          deep + "}}}]}]}");
  EXPECT_THROW(render_chat(r), Error);
}

}  // namespace
}  // namespace gemma4
