// Where image soft tokens go in a prompt (spec vision.md 2.2 / 2.3).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

namespace gemma4 {

// The tokens one image becomes: <|image> (boi), `count` × image token, <image|> (eoi).
std::vector<int64_t> image_placeholder_tokens(int64_t boi_id, int64_t image_id, int64_t eoi_id, int64_t count);

// The positions of `image_id` in `ids`, in order: image i's soft tokens fill the next
// tokens_per_image[i] of them (as the reference's masked_scatter). Throws Error (usage)
// naming the runs found when the placeholders do not match the images' token counts.
std::vector<int64_t> image_token_positions(std::span<const int64_t> ids, int64_t image_id,
                                           const std::vector<int64_t>& tokens_per_image);

}  // namespace gemma4
