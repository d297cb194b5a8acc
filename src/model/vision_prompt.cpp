#include "model/vision_prompt.h"

#include <numeric>
#include <string>

#include "base/error.h"

namespace gemma4 {

std::vector<int64_t> image_placeholder_tokens(int64_t boi_id, int64_t image_id, int64_t eoi_id, int64_t count) {
  std::vector<int64_t> tokens;
  tokens.reserve(static_cast<size_t>(count) + 2);
  tokens.push_back(boi_id);
  tokens.insert(tokens.end(), static_cast<size_t>(count), image_id);
  tokens.push_back(eoi_id);
  return tokens;
}

std::vector<int64_t> image_token_positions(std::span<const int64_t> ids, int64_t image_id,
                                           const std::vector<int64_t>& tokens_per_image) {
  std::vector<int64_t> positions;
  std::vector<int64_t> runs;  // lengths of the placeholder runs, for the error message
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] != image_id) continue;
    if (i == 0 || ids[i - 1] != image_id) runs.push_back(0);
    ++runs.back();
    positions.push_back(static_cast<int64_t>(i));
  }
  const int64_t wanted = std::accumulate(tokens_per_image.begin(), tokens_per_image.end(), int64_t{0});
  if (static_cast<int64_t>(positions.size()) != wanted) {
    auto list = [](const std::vector<int64_t>& v) {
      std::string s;
      for (int64_t x : v) s += (s.empty() ? "" : ", ") + std::to_string(x);
      return "[" + s + "]";
    };
    throw Error("the prompt holds " + std::to_string(positions.size()) + " image placeholder tokens (id " +
                    std::to_string(image_id) + ", runs " + list(runs) + ") but the images give " +
                    std::to_string(wanted) + " soft tokens " + list(tokens_per_image),
                ExitCode::usage);
  }
  return positions;
}

}  // namespace gemma4
