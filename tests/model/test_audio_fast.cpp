// The audio tower's fast numerics (packed bf16 GEMM, vectorized SiLU/GLU) against the float32
// path and the Hugging Face goldens of the tiny model.
#include <gtest/gtest.h>

#include <cstdio>

#include "io/npy.h"
#include "io/safetensors.h"
#include "model/audio_input.h"
#include "model/encoder_agreement.h"
#include "model/golden_util.h"
#include "test_util.h"

namespace gemma4 {
namespace {

void check_fast_audio(const std::string& case_name, const std::string& wav) {
  static const AudioInput fast = AudioInput::load(test::tiny_dir(), {}, EncoderNumerics::fast);
  static const AudioInput exact = AudioInput::load(test::tiny_dir(), {}, EncoderNumerics::exact);
  const std::vector<AudioBlock> got = fast.embed_file(test::tiny_dir() + "/" + wav);
  const std::vector<AudioBlock> reference = exact.embed_file(test::tiny_dir() + "/" + wav);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(reference.size(), 1u);
  const std::vector<float> golden = to_f32(
      TensorStore::open(test::tiny_dir() + "/goldens_audio.safetensors").require(case_name + ".soft_tokens"));
  ASSERT_EQ(got[0].soft_tokens.size(), golden.size());
  ASSERT_EQ(reference[0].soft_tokens.size(), golden.size());
  const test::Agreement vs_exact = test::compare(got[0].soft_tokens, reference[0].soft_tokens);
  const test::Agreement vs_golden = test::compare(got[0].soft_tokens, golden);
  std::printf("%s fast vs float32: max |diff| %.4g, cosine %.7f; vs golden: max |diff| %.4g, cosine %.7f\n",
              case_name.c_str(), vs_exact.max_abs, vs_exact.cosine, vs_golden.max_abs, vs_golden.cosine);
  const float bound = test::bf16_bound(case_name);
  EXPECT_GT(vs_exact.max_abs, 0.f);  // the fast path is really in use
  EXPECT_LE(vs_exact.max_abs, bound);
  EXPECT_LE(vs_golden.max_abs, bound);
  EXPECT_GT(vs_exact.cosine, 0.9999);
  EXPECT_GT(vs_golden.cosine, 0.9999);
}

TEST(AudioFast, SpeechWithinBf16Tolerance) { check_fast_audio("audio_speech", "speech.wav"); }
TEST(AudioFast, ChirpWithinBf16Tolerance) { check_fast_audio("audio_chirp", "chirp.wav"); }

// int8 linears: the same checks as the vision tower's (test_vision_fast.cpp says why they stop
// at the soft tokens: int8 does not meet the bf16 run's logits bounds on the tiny model).
void check_int8_audio(const std::string& case_name, const std::string& wav) {
  static const AudioInput int8 = AudioInput::load(test::tiny_dir(), {}, EncoderNumerics::int8);
  static const AudioInput exact = AudioInput::load(test::tiny_dir(), {}, EncoderNumerics::exact);
  const std::vector<AudioBlock> got = int8.embed_file(test::tiny_dir() + "/" + wav);
  const std::vector<AudioBlock> reference = exact.embed_file(test::tiny_dir() + "/" + wav);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(reference.size(), 1u);
  const test::Agreement tokens = test::compare(got[0].soft_tokens, reference[0].soft_tokens);
  EXPECT_GT(tokens.max_abs, 0.f);  // the int8 path is really in use
  EXPECT_GT(tokens.cosine, 0.999);
  std::printf("%s int8 soft tokens vs float32: max |diff| %.4g, cosine %.7f\n", case_name.c_str(), tokens.max_abs,
              tokens.cosine);
}

TEST(AudioInt8, SpeechSoftTokensCloseToFloat32) { check_int8_audio("audio_speech", "speech.wav"); }
TEST(AudioInt8, ChirpSoftTokensCloseToFloat32) { check_int8_audio("audio_chirp", "chirp.wav"); }

// The CLI's default is the fast path; --exact is the float32 reference (golden to 1e-4).
TEST(AudioFast, EmbedAudioDefaultIsFast) {
  const std::string dir = test::temp_dir("embed-audio-fast");
  const std::string base = test::gemma4_binary() + " embed-audio --model " + test::tiny_dir() + " --audio " +
                           test::tiny_dir() + "/speech.wav 2>/dev/null --out ";
  ASSERT_EQ(test::run_command(base + dir + "/fast.npy"), 0);
  ASSERT_EQ(test::run_command(base + dir + "/exact.npy --exact"), 0);
  const NpyArray fast = read_npy_f32(dir + "/fast.npy"), exact = read_npy_f32(dir + "/exact.npy");
  ASSERT_EQ(fast.shape, exact.shape);
  const test::Agreement a = test::compare(fast.data, exact.data);
  EXPECT_GT(a.max_abs, 0.f);
  EXPECT_LE(a.max_abs, test::bf16_bound("audio_speech"));
}

}  // namespace
}  // namespace gemma4
