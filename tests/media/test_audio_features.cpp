// Log-mel features against the spec's check values and the golden extractor outputs.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/safetensors.h"
#include "media/audio.h"
#include "media/audio_features.h"
#include "test_util.h"

using namespace gemma4;

namespace {

AudioFeatureConfig tiny_feature_config() {
  return AudioFeatureConfig::from_processor_config(
      nlohmann::json::parse(read_file(test::tiny_dir() + "/processor_config.json")));
}

// Compares our features for `wav` (padded as the reference batch padded it) with the golden row.
void expect_golden_features(const std::string& case_name, int64_t row, const std::string& wav) {
  SCOPED_TRACE(case_name + " row " + std::to_string(row));
  auto goldens = TensorStore::open(test::tiny_dir() + "/goldens_audio.safetensors");
  const TensorInfo& feats = goldens.require(case_name + ".input_features");
  const TensorInfo& mask = goldens.require(case_name + ".input_features_mask");
  const int64_t frames = feats.shape[1], bins = feats.shape[2];
  const std::vector<float> want = to_f32(feats);
  const std::vector<int64_t> want_mask = to_i64(mask);

  const AudioFeatureConfig cfg = tiny_feature_config();
  const std::vector<float> pcm = load_audio_mono(test::tiny_dir() + "/" + wav, cfg.sample_rate);
  const int64_t longest = goldens.require(case_name + ".waveforms").shape[1];
  const int64_t padded = (longest + 127) / 128 * 128;  // pad_to_multiple_of = 128
  const LogMel mel = log_mel_features(cfg, pcm.data(), static_cast<int64_t>(pcm.size()), padded);
  ASSERT_EQ(mel.frames, frames);
  ASSERT_EQ(mel.num_mel_bins, bins);
  double max_diff = 0;
  for (int64_t i = 0; i < frames; ++i) {
    EXPECT_EQ(mel.mask[i], want_mask[row * frames + i]) << "frame " << i;
    for (int64_t j = 0; j < bins; ++j)
      max_diff = std::max(max_diff, std::abs(double(mel.features[i * bins + j]) - want[(row * frames + i) * bins + j]));
  }
  EXPECT_LE(max_diff, 1e-4);
  // Unpadded, the clip yields exactly its valid frames with the same values.
  const LogMel plain = log_mel_features(cfg, pcm);
  EXPECT_EQ(plain.frames, mel.valid_frames());
  EXPECT_EQ(plain.valid_frames(), plain.frames);
  for (int64_t i = 0; i < plain.frames * bins; ++i) ASSERT_EQ(plain.features[i], mel.features[i]);
}

}  // namespace

TEST(AudioFeatures, ConfigFromProcessorConfig) {
  const AudioFeatureConfig cfg = tiny_feature_config();
  EXPECT_EQ(cfg.sample_rate, 16000);
  EXPECT_EQ(cfg.frame_length, 320);
  EXPECT_EQ(cfg.hop_length, 160);
  EXPECT_EQ(cfg.fft_length, 512);
  EXPECT_EQ(cfg.num_mel_bins, 128);
  EXPECT_EQ(cfg.max_samples, 480000);
  EXPECT_THROW(AudioFeatureConfig::from_processor_config({{"feature_extractor", {{"preemphasis", 0.97}}}}), Error);
}

TEST(AudioFeatures, MelFilterBankCheckValues) {
  const AudioFeatureConfig cfg;
  const std::vector<double> bank = mel_filter_bank(cfg);
  ASSERT_EQ(bank.size(), 257u * 128u);
  for (int k = 0; k < 257; ++k) EXPECT_EQ(bank[k * 128 + 0], 0.0);
  EXPECT_NEAR(bank[1 * 128 + 1], 0.76600767, 1e-7);
  EXPECT_NEAR(bank[1 * 128 + 2], 0.23399233, 1e-7);
  EXPECT_NEAR(bank[2 * 128 + 3], 0.62437015, 1e-7);
}

TEST(AudioFeatures, FrameAndTokenCounts) {
  const AudioFeatureConfig cfg;
  const std::pair<int64_t, int64_t> cases[] = {{0, 0},       {160, 0},      {161, 1},       {320, 1},  {321, 2},
                                               {16000, 99}, {63520, 396}, {160000, 999}, {480000, 2999}};
  for (auto [n, frames] : cases) EXPECT_EQ(mel_frame_count(cfg, n), frames) << n;
}

TEST(AudioFeatures, SineMatchesSpecValues) {
  const AudioFeatureConfig cfg;
  std::vector<float> x(16000);
  for (int n = 0; n < 16000; ++n) x[n] = static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * 1000 * n / 16000.0));
  const LogMel mel = log_mel_features(cfg, x);
  ASSERT_EQ(mel.frames, 99);
  const float frame0[] = {-6.907755f, -0.035153f, -1.218704f, -0.236803f, -0.744104f, -0.323542f};
  for (int j = 0; j < 6; ++j) EXPECT_NEAR(mel.features[j], frame0[j], 2e-5) << j;
  const float frame50[] = {-4.412751f, -2.355839f, -1.837027f, -1.752949f, -0.574445f, -0.003824f};
  for (int j = 0; j < 6; ++j) EXPECT_NEAR(mel.features[50 * 128 + 36 + j], frame50[j], 2e-5) << j;
  EXPECT_NEAR(mel.features[50 * 128 + 44], 3.630483f, 2e-5);
  double sum = 0;
  for (float v : mel.features) sum += v;
  // The spec derived this mean from a float64 sine; ours is float32, which moves the
  // near-floor channels by up to ~1e-4 (single values above agree within 2e-5).
  EXPECT_NEAR(sum / mel.features.size(), -5.219903, 5e-5);
}

TEST(AudioFeatures, SilenceIsTheFloor) {
  const LogMel mel = log_mel_features(AudioFeatureConfig{}, std::vector<float>(4000, 0.0f));
  for (float v : mel.features) EXPECT_NEAR(v, std::log(1e-3f), 1e-6);
}

TEST(AudioFeatures, GoldenSpeech) { expect_golden_features("audio_speech", 0, "speech.wav"); }
TEST(AudioFeatures, GoldenChirp) { expect_golden_features("audio_chirp", 0, "chirp.wav"); }
TEST(AudioFeatures, GoldenBatchOfTwo) {
  expect_golden_features("audio_both", 0, "speech.wav");
  expect_golden_features("audio_both", 1, "chirp.wav");
}
