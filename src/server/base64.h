// Standard base64 (RFC 4648, '+' '/' alphabet) decoding for media sent inline in requests.
#pragma once
#include <optional>
#include <string>
#include <string_view>

namespace gemma4::server {

// Decodes `text`, ignoring ASCII whitespace (some clients wrap lines). Padding is optional but,
// when present, must be correct. Returns nullopt for any other character or a bad length.
std::optional<std::string> base64_decode(std::string_view text);

// The decoded size of `text` (an upper bound when it holds whitespace), so limits can be
// checked before allocating.
size_t base64_decoded_size_bound(std::string_view text);

std::string base64_encode(std::string_view bytes);

}  // namespace gemma4::server
