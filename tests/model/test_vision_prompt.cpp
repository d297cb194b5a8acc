#include <gtest/gtest.h>

#include "base/error.h"
#include "io/safetensors.h"
#include "model/vision_prompt.h"
#include "test_util.h"

namespace gemma4 {
namespace {

TEST(VisionPrompt, PlaceholderExpansion) {
  EXPECT_EQ(image_placeholder_tokens(255999, 258880, 258882, 3),
            (std::vector<int64_t>{255999, 258880, 258880, 258880, 258882}));
}

TEST(VisionPrompt, PositionsInOrderAndCountsChecked) {
  const std::vector<int64_t> ids = {2, 9, 1000, 7, 7, 1012, 5, 1000, 7, 7, 7, 1012};
  EXPECT_EQ(image_token_positions(ids, 7, {2, 3}), (std::vector<int64_t>{3, 4, 8, 9, 10}));
  EXPECT_THROW(image_token_positions(ids, 7, {2}), Error);
  EXPECT_THROW(image_token_positions(ids, 7, {2, 3, 1}), Error);
}

// The goldens' prompts hold exactly the placeholder runs the images' token counts say.
TEST(VisionPrompt, GoldenPromptsMatchTokenCounts) {
  const TensorStore goldens = TensorStore::open(test::tiny_dir() + "/goldens_image.safetensors");
  const std::vector<int64_t> ab = to_i64(goldens.require("image_ab.input_ids"));
  const std::vector<int64_t> pos = image_token_positions(ab, 1010, {60, 63});
  ASSERT_EQ(pos.size(), 123u);
  EXPECT_EQ(ab[pos.front() - 1], 1000);  // boi
  EXPECT_EQ(ab[pos[59] + 1], 1012);      // eoi after the first image's 60 tokens
  EXPECT_EQ(ab[pos.back() + 1], 1012);
}

}  // namespace
}  // namespace gemma4
