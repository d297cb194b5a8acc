// libFuzzer target for the server's request path: JSON body -> validated ChatRequest (including
// data URLs and base64 media), then the response shapes built from it. Any input must end in a
// ChatRequest or an ApiError: never a crash, hang or other exception.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/api_error.h"
#include "server/base64.h"
#include "server/chat_request.h"
#include "server/responses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  gemma4::server::RequestLimits limits;
  limits.max_media_bytes = 1 << 16;
  try {
    auto request = gemma4::server::parse_chat_request(text, limits);
    // Echo the parsed request through the response builders, as a backend's deltas would flow.
    gemma4::server::Delta delta;
    delta.content = request.messages.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    int index = 0;
    gemma4::server::sse_event(gemma4::server::delta_json(delta, &index));
  } catch (const gemma4::server::ApiError& e) {
    if (e.status() != 400 && e.status() != 413) __builtin_trap();
  }
  // The base64 decoder on raw bytes: decoding what it encodes must round-trip.
  if (auto bytes = gemma4::server::base64_decode(text)) {
    if (gemma4::server::base64_decode(gemma4::server::base64_encode(*bytes)) != *bytes) __builtin_trap();
  }
  return 0;
}
