// Gemma 4 response parser: generated text -> thinking, content and tool calls (spec
// tokenizer_chat.md §4.3). Streaming: feed text pieces (or ids through TokenResponseParser) and
// get events as soon as they are certain. Handles the known quirks: a leading
// <|channel>thought\n…<channel|> block (its name stripped, surrounding whitespace trimmed),
// stray <channel|> / <tool_call|> markers, several tool calls, and missing closers at the end
// of generation (best-effort). Stops at <turn|>, <eos> or <|tool_response>.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "text/detokenizer.h"
#include "text/tool_call_args.h"

namespace gemma4 {

class Tokenizer;

struct ToolCall {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();
  bool complete = true;  // false: closer missing or arguments repaired
  std::string raw;       // the text between <|tool_call> and <tool_call|>
};

struct ResponseEvent {
  enum class Type { thinking, content, tool_call };
  Type type;
  std::string text;  // thinking / content delta
  ToolCall call;     // for tool_call
};

struct ParsedResponse {
  std::optional<std::string> thinking;  // set when a thought channel was opened
  std::optional<std::string> content;   // set when there was visible text
  std::vector<ToolCall> tool_calls;
  // {"thinking": str|null, "content": str|null, "tool_calls": [{"type":"function",
  //   "function":{"name":…, "arguments":{…}}}]}
  nlohmann::json to_json() const;
};

class ResponseParser {
 public:
  // start_in_thinking: the prompt ended with "<|channel>thought\n" (after a tool response with
  // thinking on), so the model continues inside the thought channel.
  explicit ResponseParser(bool start_in_thinking = false);
  std::vector<ResponseEvent> push(std::string_view text);
  std::vector<ResponseEvent> finish();  // end of generation: flush everything held back
  bool done() const { return state_ == State::done; }  // an end marker was seen
  const ParsedResponse& result() const { return result_; }

 private:
  enum class State { content, channel_header, thinking, tool_call, after_tool_call, done };
  void process(bool final);
  void plain_text(std::string_view text);
  void marker(std::string_view m);
  void end_thinking();
  void finish_tool_call(bool closed);
  void emit_content(std::string_view text);
  void emit_thinking(std::string_view text);

  State state_;
  std::string buf_;            // text not yet processed (may end in a partial marker)
  std::string header_;         // text after <|channel> while deciding about "thought\n"
  std::string thinking_ws_;    // trailing whitespace of the thought, held back
  std::string call_;           // current tool call text
  bool skip_leading_space_ = true;
  ParsedResponse result_;
  std::vector<ResponseEvent> events_;
};

// One-shot parse of a whole generated text (decoded with special tokens kept).
ParsedResponse parse_response(std::string_view text, bool start_in_thinking = false);

// The same over token ids: detokenizes (holding back partial UTF-8) and parses.
class TokenResponseParser {
 public:
  TokenResponseParser(const Tokenizer& tokenizer, bool start_in_thinking = false)
      : detok_(tokenizer), parser_(start_in_thinking) {}
  std::vector<ResponseEvent> push(int32_t id) { return parser_.push(detok_.push(id)); }
  std::vector<ResponseEvent> finish();
  const ParsedResponse& result() const { return parser_.result(); }

 private:
  StreamingDetokenizer detok_;
  ResponseParser parser_;
};

}  // namespace gemma4
