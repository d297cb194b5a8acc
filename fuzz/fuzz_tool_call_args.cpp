// libFuzzer target: the model-output side — tool-call argument text and the response parser.
#include <cstddef>
#include <cstdint>
#include <string>

#include "text/response_parser.h"
#include "text/tool_call_args.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  gemma4::ParsedToolCall call = gemma4::parse_tool_call(text);
  if (!call.arguments.is_object()) __builtin_trap();
  (void)call.arguments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // The same bytes as a whole response, and streamed in small pieces.
  gemma4::parse_response("<|tool_call>" + text);
  gemma4::ResponseParser p(size % 2 == 1);
  for (size_t i = 0; i < text.size(); i += 3) p.push(std::string_view(text).substr(i, 3));
  p.finish();
  (void)p.result().to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return 0;
}
