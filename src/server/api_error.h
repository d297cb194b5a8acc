// An error the HTTP API reports to the client as an OpenAI-style error object:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
#pragma once
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace gemma4::server {

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string message, std::string param = "", std::string code = "")
      : std::runtime_error(std::move(message)), status_(status), param_(std::move(param)), code_(std::move(code)) {}

  int status() const { return status_; }
  const std::string& param() const { return param_; }
  const std::string& code() const { return code_; }
  nlohmann::json to_json() const;

 private:
  int status_;
  std::string param_;
  std::string code_;
};

// OpenAI's error `type` for an HTTP status (400 -> "invalid_request_error", ...).
const char* error_type_for_status(int status);

// {"error": {...}} for a status and message; param / code are null when empty.
nlohmann::json error_body(int status, const std::string& message, const std::string& param = "",
                          const std::string& code = "");

// Shorthand for the common case: a 400 about one request field.
[[noreturn]] inline void bad_request(const std::string& message, const std::string& param = "") {
  throw ApiError(400, message, param);
}

}  // namespace gemma4::server
