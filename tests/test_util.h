// Shared helpers for the tests: where the goldens are, running the CLI, comparing arrays.
#pragma once
#include <string>

namespace gemma4::test {

inline std::string shared_dir() { return GEMMA4_SHARED_DIR; }
inline std::string tiny_dir() { return shared_dir() + "/goldens/tiny"; }
inline std::string gemma4_binary() { return GEMMA4_BINARY; }

// Runs a shell command, returns its exit status; stdout goes to *out if given.
int run_command(const std::string& cmd, std::string* out = nullptr);

// A fresh temporary directory, removed when the test process exits.
std::string temp_dir(const std::string& tag);

}  // namespace gemma4::test
