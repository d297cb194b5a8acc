// Shared fixtures for the text tests: the Gemma-4-compatible tokenizer folder and goldens.
// The tokenizer comes from $GEMMA4_TOKENIZER_DIR, else from running
// shared/tools/gemma4-tokenizer.sh; if neither works the tests fail (they never skip).
#pragma once
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "test_util.h"
#include "text/tokenizer.h"

namespace gemma4::test {

inline std::string tokenizer_dir() {
  static const std::string dir = [] {
    const char* env = std::getenv("GEMMA4_TOKENIZER_DIR");
    if (env && *env) return std::string(env);
    std::string out;
    if (run_command("bash " + shared_dir() + "/tools/gemma4-tokenizer.sh", &out) != 0) return std::string();
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    size_t nl = out.rfind('\n');
    return nl == std::string::npos ? out : out.substr(nl + 1);
  }();
  return dir;
}

// Loaded once per test process (parsing 14 MB of JSON each time would slow the suite).
inline const Tokenizer& gemma4_tokenizer() {
  static const Tokenizer tok = [] {
    const std::string dir = tokenizer_dir();
    if (dir.empty())
      throw std::runtime_error("no tokenizer: set GEMMA4_TOKENIZER_DIR or make shared/tools/gemma4-tokenizer.sh work");
    return Tokenizer::load(dir);
  }();
  return tok;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json chat_cases() { return nlohmann::json::parse(slurp(shared_dir() + "/goldens/chat/cases.json")); }

inline std::vector<nlohmann::json> tokenizer_cases() {
  std::vector<nlohmann::json> cases;
  std::ifstream in(shared_dir() + "/goldens/tokenizer/cases.jsonl");
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) cases.push_back(nlohmann::json::parse(line));
  return cases;
}

}  // namespace gemma4::test
