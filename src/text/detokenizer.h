// Streaming detokenizer: push generated ids one at a time, get back only complete UTF-8 text.
// Byte-fallback tokens (<0xE6><0x97><0xA5> = "日") are held until they form a whole character;
// bytes that can never form one are emitted as U+FFFD. Special tokens are kept as their text
// (the response parser needs <|channel>, <tool_call|>, ...).
#pragma once
#include <cstdint>
#include <string>

namespace gemma4 {

class Tokenizer;

class StreamingDetokenizer {
 public:
  explicit StreamingDetokenizer(const Tokenizer& tokenizer) : tok_(tokenizer) {}
  // Returns the text that became complete with this id (may be empty).
  std::string push(int32_t id);
  // End of stream: whatever is still held (incomplete bytes become U+FFFD).
  std::string finish();

 private:
  // Emits the longest prefix of pending_ that is complete UTF-8; invalid bytes -> U+FFFD.
  std::string drain(bool final);
  const Tokenizer& tok_;
  std::string pending_;
};

}  // namespace gemma4
