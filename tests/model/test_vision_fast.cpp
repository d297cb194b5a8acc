// The vision tower's fast numerics (packed bf16 GEMM, long attention) against the float32
// path and the Hugging Face goldens of the tiny model.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "io/npy.h"
#include "io/safetensors.h"
#include "media/image.h"
#include "model/encoder_agreement.h"
#include "model/golden_util.h"
#include "model/vision.h"
#include "model/vision_prompt.h"
#include "test_util.h"

namespace gemma4 {
namespace {

using test::Agreement;
using test::bf16_bound;
using test::compare;

void check_fast_image(const std::string& case_name, const std::string& png) {
  static const VisionModel fast = VisionModel::load_folder(test::tiny_dir(), EncoderNumerics::fast);
  static const VisionModel exact = VisionModel::load_folder(test::tiny_dir(), EncoderNumerics::exact);
  const ImageProcessorConfig processor = ImageProcessorConfig::load(test::tiny_dir());
  const ImagePatches patches = preprocess_image(load_image(test::tiny_dir() + "/" + png), processor);
  const std::vector<float> got = fast.embed(patches);
  const std::vector<float> reference = exact.embed(patches);
  const std::vector<float> golden = to_f32(
      TensorStore::open(test::tiny_dir() + "/goldens_image.safetensors").require(case_name + ".soft_tokens"));
  ASSERT_EQ(got.size(), reference.size());
  ASSERT_EQ(got.size(), golden.size());
  const Agreement vs_exact = compare(got, reference), vs_golden = compare(got, golden);
  std::printf("%s fast vs float32: max |diff| %.4g, cosine %.7f; vs golden: max |diff| %.4g, cosine %.7f\n",
              case_name.c_str(), vs_exact.max_abs, vs_exact.cosine, vs_golden.max_abs, vs_golden.cosine);
  const float bound = bf16_bound(case_name);
  EXPECT_LE(vs_exact.max_abs, bound);
  EXPECT_LE(vs_golden.max_abs, bound);
  EXPECT_GT(vs_exact.cosine, 0.9999);
  EXPECT_GT(vs_golden.cosine, 0.9999);
}

TEST(VisionFast, ImageAWithinBf16Tolerance) { check_fast_image("image_a", "image_a.png"); }
TEST(VisionFast, ImageBWithinBf16Tolerance) { check_fast_image("image_b", "image_b.png"); }

// int8 numerics (EncoderNumerics::int8: int8 linears and attention) round activations, weights,
// q, k, v and the softmax weights to 8 bits, a few times coarser than bf16, so their soft
// tokens are further from float32 than the bf16 bound allows (measured: max |diff| ~0.06,
// cosine ~0.99987, printed below; ~0.05 / ~0.9999 with bf16 attention). The manifest judges
// reduced-precision engines on the whole model's logits: within what a bf16 transformers run
// gives, in max |diff| and argmax agreement. int8 does NOT meet that on the tiny model (its
// random decoder amplifies the soft tokens' error; the numbers are in the README's performance
// section), so int8 stays opt-in (--int8) and is not held to it here.
// What always runs: the int8 path is in use, and its soft tokens keep cosine > 0.999 with
// float32, a sanity bound (a wrong scale, clamp or layout gives far less), not an accuracy claim.
void check_int8_image(const std::string& case_name, const std::string& png) {
  static const VisionModel int8 = VisionModel::load_folder(test::tiny_dir(), EncoderNumerics::int8);
  static const VisionModel exact = VisionModel::load_folder(test::tiny_dir(), EncoderNumerics::exact);
  const ImageProcessorConfig processor = ImageProcessorConfig::load(test::tiny_dir());
  const ImagePatches patches = preprocess_image(load_image(test::tiny_dir() + "/" + png), processor);
  const std::vector<float> soft = int8.embed(patches), reference = exact.embed(patches);
  const Agreement tokens = compare(soft, reference);
  EXPECT_GT(tokens.max_abs, 0.f);  // the int8 path is really in use
  EXPECT_GT(tokens.cosine, 0.999);
  std::printf("%s int8 soft tokens vs float32: max |diff| %.4g, cosine %.7f\n", case_name.c_str(), tokens.max_abs,
              tokens.cosine);
}

TEST(VisionInt8, ImageASoftTokensCloseToFloat32) { check_int8_image("image_a", "image_a.png"); }
TEST(VisionInt8, ImageBSoftTokensCloseToFloat32) { check_int8_image("image_b", "image_b.png"); }

// The CLI's default is the fast path; --exact is the float32 reference (golden to 1e-4).
TEST(VisionFast, EmbedImageDefaultIsFast) {
  const std::string dir = test::temp_dir("embed-image-fast");
  const std::string base = test::gemma4_binary() + " embed-image --model " + test::tiny_dir() + " --image " +
                           test::tiny_dir() + "/image_b.png --out ";
  ASSERT_EQ(test::run_command(base + dir + "/fast.npy"), 0);
  ASSERT_EQ(test::run_command(base + dir + "/exact.npy --exact"), 0);
  const NpyArray fast = read_npy_f32(dir + "/fast.npy"), exact = read_npy_f32(dir + "/exact.npy");
  ASSERT_EQ(fast.shape, exact.shape);
  const Agreement a = compare(fast.data, exact.data);
  EXPECT_GT(a.max_abs, 0.f);  // bf16 products do change the numbers
  EXPECT_LE(a.max_abs, bf16_bound("image_b"));
}

}  // namespace
}  // namespace gemma4
