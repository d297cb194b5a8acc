// Gemma 4 tool-call text -> JSON (spec tokenizer_chat.md §5.3). The model writes
//   call:NAME{key:value,...}   with strings as <|"|>...<|"|>, bare keys, numbers, true/false/null,
// nested {...} and [...]. The parser is lenient (whitespace, JSON-style "..." strings, quoted
// keys, bare words as strings, missing closers) and never throws: malformed text gives a
// best-effort value and complete=false.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace gemma4 {

struct ParsedToolCall {
  std::string name;
  nlohmann::json arguments = nlohmann::json::object();  // always an object
  bool complete = true;  // false when something had to be repaired or guessed
};

// Parses one Gemma value ("{a:1}", "<|\"|>x<|\"|>", "[1,2]", "true", ...).
nlohmann::json parse_gemma_value(std::string_view text, bool* complete = nullptr);
// Parses the text between <|tool_call> and <tool_call|>: "call:NAME{...}".
ParsedToolCall parse_tool_call(std::string_view text);

}  // namespace gemma4
