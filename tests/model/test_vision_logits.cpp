// Image prompts end to end: PNG -> vision tower -> soft tokens in the text decoder -> logits,
// against the tiny model's image goldens (image_a, image_b, image_ab).
#include <gtest/gtest.h>

#include "io/npy.h"
#include "media/image.h"
#include "model/golden_util.h"
#include "model/vision.h"
#include "model/vision_prompt.h"

namespace gemma4 {
namespace {

const TensorStore& image_goldens() {
  static const TensorStore store = TensorStore::open(test::tiny_dir() + "/goldens_image.safetensors");
  return store;
}

double logits_atol(const std::string& name) {
  return test::manifest_case(name)["outputs"]["logits"]["atol"].get<double>();
}

void check_image_logits(const std::string& name, const std::vector<std::string>& pngs) {
  const std::vector<int64_t> ids = to_i64(image_goldens().require(name + ".input_ids"));
  auto decoder = test::tiny_decoder();
  const VisionModel vision = VisionModel::load_folder(test::tiny_dir());
  const ImageProcessorConfig processor = ImageProcessorConfig::load(test::tiny_dir());
  const int64_t hidden = vision.config().text_hidden_size;

  std::vector<std::vector<float>> soft;
  std::vector<int64_t> counts;
  for (const std::string& png : pngs) {
    soft.push_back(vision.embed(preprocess_image(load_image(test::tiny_dir() + "/" + png), processor)));
    counts.push_back(static_cast<int64_t>(soft.back().size()) / hidden);
  }
  const std::vector<int64_t> positions = image_token_positions(ids, decoder->model_config().image_token_id, counts);
  KVCache cache = decoder->new_cache();
  Chunk chunk{&cache, ids, {}};
  size_t p = 0;
  for (size_t i = 0; i < soft.size(); ++i)
    for (int64_t t = 0; t < counts[i]; ++t) chunk.soft_tokens.push_back({positions[p++], &soft[i][t * hidden]});
  const std::vector<float> logits = decoder->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
  EXPECT_TRUE(test::all_close(logits, to_f32(image_goldens().require(name + ".logits")), logits_atol(name))) << name;
}

TEST(VisionLogits, ImageA) { check_image_logits("image_a", {"image_a.png"}); }
TEST(VisionLogits, ImageB) { check_image_logits("image_b", {"image_b.png"}); }
TEST(VisionLogits, ImageAB) { check_image_logits("image_ab", {"image_a.png", "image_b.png"}); }

// `gemma4 logits --image A --image B` fills the two placeholder runs in order.
TEST(VisionLogits, LogitsCommandWithTwoImages) {
  const std::vector<int64_t> ids = to_i64(image_goldens().require("image_ab.input_ids"));
  std::string ids_text;
  for (int64_t id : ids) ids_text += (ids_text.empty() ? "" : ",") + std::to_string(id);
  const std::string out = test::temp_dir("image-logits") + "/logits.npy";
  const std::string cmd = test::gemma4_binary() + " logits --model " + test::tiny_dir() + " --ids " + ids_text +
                          " --image " + test::tiny_dir() + "/image_a.png --image " + test::tiny_dir() +
                          "/image_b.png --out " + out;
  ASSERT_EQ(test::run_command(cmd), 0) << cmd;
  const NpyArray got = read_npy_f32(out);
  EXPECT_TRUE(test::all_close(got.data, to_f32(image_goldens().require("image_ab.logits")), logits_atol("image_ab")));
  // One image for two placeholder runs is a usage error.
  const std::string one_image = test::gemma4_binary() + " logits --model " + test::tiny_dir() + " --ids " + ids_text +
                                " --image " + test::tiny_dir() + "/image_a.png --out " + out + " 2>/dev/null";
  EXPECT_EQ(test::run_command(one_image), 2);
}

}  // namespace
}  // namespace gemma4
