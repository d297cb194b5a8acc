// libFuzzer target: tokenizer.json loading (untrusted file) and encode/decode of arbitrary bytes.
// Property: for valid UTF-8 input, decode(encode(text)) == text, with any literal '▁' in the
// input read back as ' ' (the decoder maps ▁ to a space, as HF's does).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "base/error.h"
#include "text/tokenizer.h"

namespace {

const gemma4::Tokenizer& small_tokenizer() {
  static const gemma4::Tokenizer tok = [] {
    std::string vocab = "\"<unk>\": 0, \"<x>\": 1";
    int id = 2;
    char buf[32];
    for (int b = 0; b < 256; ++b) {
      std::snprintf(buf, sizeof(buf), ", \"<0x%02X>\": %d", b, id++);
      vocab += buf;
    }
    for (const char* p : {"a", "b", "\\u2581", "ab", "\\u2581a", "\\u2581ab", "\\n", "\\n\\n", ">", ">\\u2581"}) {
      std::snprintf(buf, sizeof(buf), ", \"%s\": %d", p, id++);
      vocab += buf;
    }
    std::string json = "{\"model\": {\"type\": \"BPE\", \"unk_token\": \"<unk>\", \"vocab\": {" + vocab +
                       "}, \"merges\": [[\"a\", \"b\"], [\"\\u2581\", \"a\"], [\"\\u2581a\", \"b\"], [\"\\n\", \"\\n\"], "
                       "[\">\", \"\\u2581\"]]}, \"added_tokens\": [{\"id\": 1, \"content\": \"<x>\", \"special\": true}]}";
    return gemma4::Tokenizer::from_json(json);
  }();
  return tok;
}

bool valid_utf8(const std::string& s) {
  for (size_t pos = 0; pos < s.size();) {
    uint32_t cp;
    size_t len = gemma4::utf8_sequence(s, pos, &cp);
    if (!len) return false;
    pos += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & 1) {
    try {
      gemma4::Tokenizer t = gemma4::Tokenizer::from_json(text);
      t.decode(t.encode("ab a\nb<x>"));
    } catch (const gemma4::Error&) {
    }
    return 0;
  }
  const gemma4::Tokenizer& tok = small_tokenizer();
  std::string back = tok.decode(tok.encode(text));
  std::string expected = text;
  for (size_t at = expected.find("\xE2\x96\x81"); at != std::string::npos; at = expected.find("\xE2\x96\x81", at))
    expected.replace(at, 3, " ");
  if (valid_utf8(text) && back != expected) __builtin_trap();
  return 0;
}
