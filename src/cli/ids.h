// Parsing "2,17,33" token-id lists for the command line.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "base/error.h"

namespace gemma4::cli {

inline std::vector<int64_t> parse_ids(const std::string& text) {
  std::vector<int64_t> ids;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string item = text.substr(pos, comma - pos);
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check(used > 0 && used == item.size() && v >= 0,
          "--ids: '" + item + "' is not a token id (expected comma-separated non-negative integers)", ExitCode::usage);
    ids.push_back(v);
    pos = comma + 1;
  }
  check(!ids.empty(), "--ids: no token ids given", ExitCode::usage);
  return ids;
}

}  // namespace gemma4::cli
