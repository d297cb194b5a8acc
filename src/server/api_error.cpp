#include "server/api_error.h"

namespace gemma4::server {

const char* error_type_for_status(int status) {
  switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 503: return "unavailable_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

nlohmann::json error_body(int status, const std::string& message, const std::string& param,
                          const std::string& code) {
  auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"error",
           {{"message", message}, {"type", error_type_for_status(status)}, {"param", or_null(param)},
            {"code", or_null(code)}}}};
}

nlohmann::json ApiError::to_json() const { return error_body(status_, what(), param_, code_); }

}  // namespace gemma4::server
