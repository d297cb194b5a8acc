// Parsing and validating an OpenAI `POST /v1/chat/completions` body into a ChatRequest.
// Every problem with the request is an ApiError (HTTP 400 or 413) naming the offending field.
#pragma once
#include <cstdint>
#include <string_view>

#include "server/backend.h"

namespace gemma4::server {

struct RequestLimits {
  int64_t max_tokens_cap = 4096;             // largest max_tokens accepted
  int64_t default_max_tokens = 1024;         // when the request names none
  size_t max_media_bytes = 20u << 20;        // one decoded image or audio clip
  size_t max_media_items = 16;               // per request
  size_t max_messages = 4096;
  size_t max_stop_strings = 4;
  bool allow_local_files = false;            // image_url may name a local file (file:// or a path)
};

// Parses a JSON body. Throws ApiError (400) for malformed JSON, wrong types, unknown roles,
// unsupported options, bad media; (413) for media over the size limit.
ChatRequest parse_chat_request(std::string_view body, const RequestLimits& limits);
ChatRequest parse_chat_request_json(const nlohmann::json& body, const RequestLimits& limits);

}  // namespace gemma4::server
