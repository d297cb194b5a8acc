// The vision tower against the Hugging Face goldens of the tiny model (image_a, image_b, image_ab).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "io/safetensors.h"
#include "media/image.h"
#include "model/vision.h"
#include "test_util.h"

namespace gemma4 {
namespace {

const TensorStore& goldens() {
  static const TensorStore store = TensorStore::open(test::tiny_dir() + "/goldens_image.safetensors");
  return store;
}

const VisionModel& tiny_vision() {
  static const VisionModel model = VisionModel::load_folder(test::tiny_dir());
  return model;
}

// The golden pixel values and positions of one image of a case, without the padding rows.
ImagePatches golden_patches(const std::string& name, int image, const VisionConfig& c) {
  const TensorInfo& pv = goldens().require(name + ".pixel_values");
  const std::vector<float> pixels = to_f32(pv);
  const std::vector<int64_t> pos = to_i64(goldens().require(name + ".image_position_ids"));
  const int64_t rows = pv.shape[1], width = pv.shape[2];
  ImagePatches p;
  p.patch_values = static_cast<int>(width);
  int64_t max_x = -1, max_y = -1;
  for (int64_t n = 0; n < rows; ++n) {
    const int64_t x = pos[(image * rows + n) * 2], y = pos[(image * rows + n) * 2 + 1];
    if (x < 0) break;
    p.position_ids.push_back(static_cast<int32_t>(x));
    p.position_ids.push_back(static_cast<int32_t>(y));
    p.pixel_values.insert(p.pixel_values.end(), &pixels[(image * rows + n) * width],
                          &pixels[(image * rows + n + 1) * width]);
    max_x = std::max(max_x, x);
    max_y = std::max(max_y, y);
    ++p.num_patches;
  }
  p.grid_width = static_cast<int>(max_x + 1);
  p.grid_height = static_cast<int>(max_y + 1);
  EXPECT_EQ(p.num_patches, int64_t{p.grid_width} * p.grid_height);
  EXPECT_EQ(p.patch_values, c.patch_size * c.patch_size * 3);
  return p;
}

// max |a - b| over the first `count` values of `b_offset`..; fails on a shape problem.
float max_abs_diff(const float* a, const float* b, size_t count) {
  float worst = 0.f;
  for (size_t i = 0; i < count; ++i) {
    const float d = std::fabs(a[i] - b[i]);
    if (!(d <= worst)) worst = std::isnan(d) ? INFINITY : d;
  }
  return worst;
}

TEST(VisionConfig, ReadsTinyConfig) {
  const VisionConfig& c = tiny_vision().config();
  EXPECT_EQ(c.hidden_size, 32);
  EXPECT_EQ(c.num_layers, 2);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.position_embedding_size, 128);
  EXPECT_TRUE(c.use_clipped_linears);
  EXPECT_EQ(c.text_hidden_size, 64);
}

// Soft tokens of every image of a case, concatenated, vs the golden ones (atol 1e-4), plus
// the debug tensors along the way. `from_png`: preprocess the PNG files instead of using
// the golden pixel values.
void check_case(const std::string& name, const std::vector<std::string>& pngs, bool from_png) {
  const VisionModel& model = tiny_vision();
  const int D = model.config().hidden_size;
  const TensorInfo& golden_soft = goldens().require(name + ".soft_tokens");
  const std::vector<float> want_soft = to_f32(golden_soft);
  const std::vector<float> want_pooled = to_f32(goldens().require(name + ".pooled"));
  const TensorInfo& pe = goldens().require(name + ".patch_embeddings");
  const std::vector<float> want_patch = to_f32(pe);
  const std::vector<float> want_encoder = to_f32(goldens().require(name + ".encoder_output"));
  const int64_t rows = pe.shape[1];
  const ImageProcessorConfig processor = ImageProcessorConfig::load(test::tiny_dir());

  size_t soft_offset = 0, pooled_offset = 0;
  for (size_t i = 0; i < pngs.size(); ++i) {
    const ImagePatches patches = from_png ? preprocess_image(load_image(test::tiny_dir() + "/" + pngs[i]), processor)
                                          : golden_patches(name, static_cast<int>(i), model.config());
    VisionTrace trace;
    const std::vector<float> soft = model.embed(patches, &trace);
    ASSERT_LE(soft_offset + soft.size(), want_soft.size());
    const size_t patch_floats = static_cast<size_t>(patches.num_patches) * D;
    // Debug tensors (atol from manifest.json, rtol 1e-3 folded in generously below the atol).
    EXPECT_LE(max_abs_diff(trace.patch_embeddings.data(), &want_patch[i * rows * D], patch_floats), 0.0019f) << name;
    EXPECT_LE(max_abs_diff(trace.encoder_output.data(), &want_encoder[i * rows * D], patch_floats), 0.0039f) << name;
    EXPECT_LE(max_abs_diff(trace.pooled.data(), &want_pooled[pooled_offset], trace.pooled.size()), 0.0131f) << name;
    const float soft_diff = max_abs_diff(soft.data(), &want_soft[soft_offset], soft.size());
    EXPECT_LE(soft_diff, 1e-4f) << name << " image " << i;
    std::printf("%s image %zu (%s): soft tokens max |diff| %.3g\n", name.c_str(), i,
                from_png ? "from PNG" : "golden pixels", soft_diff);
    soft_offset += soft.size();
    pooled_offset += trace.pooled.size();
  }
  EXPECT_EQ(soft_offset, want_soft.size()) << "soft token count of " << name;
}

TEST(VisionGolden, ImageAFromGoldenPixels) { check_case("image_a", {"image_a.png"}, false); }
TEST(VisionGolden, ImageBFromGoldenPixels) { check_case("image_b", {"image_b.png"}, false); }
TEST(VisionGolden, ImageABFromGoldenPixels) { check_case("image_ab", {"image_a.png", "image_b.png"}, false); }
TEST(VisionGolden, ImageAFromPng) { check_case("image_a", {"image_a.png"}, true); }
TEST(VisionGolden, ImageBFromPng) { check_case("image_b", {"image_b.png"}, true); }
TEST(VisionGolden, ImageABFromPng) { check_case("image_ab", {"image_a.png", "image_b.png"}, true); }

}  // namespace
}  // namespace gemma4
