// `gemma4 embed-image` end to end, and the vision tensor list against the tiny checkpoint.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "base/mapped_file.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/tensor_specs.h"
#include "test_util.h"

namespace gemma4 {
namespace {

TEST(EmbedImageCommand, WritesGoldenSoftTokens) {
  const std::string dir = test::temp_dir("embed-image");
  const std::string out = dir + "/soft.npy";
  const std::string cmd = test::gemma4_binary() + " embed-image --model " + test::tiny_dir() + " --image " +
                          test::tiny_dir() + "/image_b.png --out " + out;
  ASSERT_EQ(test::run_command(cmd), 0) << cmd;
  const NpyArray got = read_npy_f32(out);
  const TensorStore goldens = TensorStore::open(test::tiny_dir() + "/goldens_image.safetensors");
  const TensorInfo& want_info = goldens.require("image_b.soft_tokens");
  ASSERT_EQ(got.shape, want_info.shape);
  const std::vector<float> want = to_f32(want_info);
  for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got.data[i], want[i], 1e-4) << i;
}

TEST(EmbedImageCommand, BudgetChangesTokenCount) {
  const std::string dir = test::temp_dir("embed-image-budget");
  const std::string out = dir + "/soft.npy";
  ASSERT_EQ(test::run_command(test::gemma4_binary() + " embed-image --model " + test::tiny_dir() + " --image " +
                              test::tiny_dir() + "/image_a.png --image-tokens 140 --out " + out),
            0);
  const NpyArray got = read_npy_f32(out);
  ASSERT_EQ(got.shape.size(), 2u);
  EXPECT_GT(got.shape[0], 70);  // image_a gives 60 tokens at the default budget of 70
  EXPECT_LE(got.shape[0], 140);
  EXPECT_EQ(got.shape[1], 64);
}

TEST(EmbedImageCommand, BadInputsFailCleanly) {
  const std::string base = test::gemma4_binary() + " embed-image --model " + test::tiny_dir() + " --out /dev/null";
  EXPECT_EQ(test::run_command(base + " --image " + test::tiny_dir() + "/config.json 2>/dev/null"), 5);
  EXPECT_EQ(test::run_command(base + " --image /nonexistent.png 2>/dev/null"), 3);
  EXPECT_EQ(test::run_command(base + " --image " + test::tiny_dir() + "/image_a.png --image-tokens 99 2>/dev/null"), 2);
}

TEST(VisionTensorSpecs, MatchTinyCheckpoint) {
  const nlohmann::json config = nlohmann::json::parse(read_file(test::tiny_dir() + "/config.json"));
  const std::vector<TensorSpec> specs = vision_tensor_specs(config);
  const TensorStore store = TensorStore::open(test::tiny_dir());
  std::set<std::string> listed;
  for (const TensorSpec& s : specs) {
    const TensorInfo* t = store.find(s.name);
    ASSERT_NE(t, nullptr) << s.name;
    EXPECT_EQ(t->shape, s.shape) << s.name;
    listed.insert(s.name);
  }
  for (const auto& [name, t] : store.tensors()) {
    const bool vision = name.rfind("model.vision_tower.", 0) == 0 || name.rfind("model.embed_vision.", 0) == 0;
    if (vision) {
      EXPECT_TRUE(listed.count(name)) << "not listed: " << name;
    }
  }
  EXPECT_TRUE(vision_tensor_specs(nlohmann::json{{"text_config", {{"hidden_size", 8}}}}).empty());
}

}  // namespace
}  // namespace gemma4
