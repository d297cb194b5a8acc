// libFuzzer target for the chat-format request parser and prompt builder (src/text/chat_format).
#include <cstddef>
#include <cstdint>
#include <string>

#include "base/error.h"
#include "text/chat_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    gemma4::ChatRequest request = gemma4::ChatRequest::parse(text);
    gemma4::RenderedPrompt prompt = gemma4::render_chat(request);
    size_t placeholders = 0;
    for (const char* p : {"<|image|>", "<|audio|>", "<|video|>"})
      for (size_t at = prompt.text.find(p); at != std::string::npos; at = prompt.text.find(p, at + 1)) ++placeholders;
    // Every media part has a placeholder (text may add more, never fewer).
    if (placeholders < prompt.media.size()) __builtin_trap();
  } catch (const gemma4::Error&) {
  }
  return 0;
}
