// Errors: one exception type carrying a user-facing message and an exit code.
#pragma once
#include <stdexcept>
#include <string>

namespace gemma4 {

// Distinct process exit codes, so scripts can tell failures apart.
enum class ExitCode : int {
  ok = 0,
  failure = 1,        // anything not covered below
  usage = 2,          // bad command-line flags
  not_found = 3,      // a model, file or tensor that does not exist
  bad_input = 4,      // malformed or corrupt data (files, JSON, media)
  unsupported = 5,    // a valid input we do not support (model type, format, dtype)
  out_of_memory = 6,  // the request does not fit in memory
  network = 7,        // download failed / no network
};

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ExitCode code = ExitCode::failure)
      : std::runtime_error(std::move(message)), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

// Throws Error(message, code) unless cond holds. For checks on untrusted input.
inline void check(bool cond, const std::string& message, ExitCode code = ExitCode::bad_input) {
  if (!cond) throw Error(message, code);
}

}  // namespace gemma4
