// The audio tower and embedder against the goldens of the tiny model, and the tensor list.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/safetensors.h"
#include "media/audio.h"
#include "media/audio_features.h"
#include "model/audio_encoder.h"
#include "model/tensor_specs.h"
#include "test_util.h"

using namespace gemma4;

namespace {

nlohmann::json tiny_config() { return nlohmann::json::parse(read_file(test::tiny_dir() + "/config.json")); }

AudioFeatureConfig tiny_feature_config() {
  return AudioFeatureConfig::from_processor_config(
      nlohmann::json::parse(read_file(test::tiny_dir() + "/processor_config.json")));
}

const AudioEncoder& tiny_encoder() {
  static const AudioEncoder encoder = [] {
    AudioConfig cfg = AudioConfig::from_json(tiny_config());
    cfg.num_mel_bins = tiny_feature_config().num_mel_bins;
    return AudioEncoder::load(TensorStore::open(test::tiny_dir()), cfg);
  }();
  return encoder;
}

const TensorStore& goldens() {
  static const TensorStore store = TensorStore::open(test::tiny_dir() + "/goldens_audio.safetensors");
  return store;
}

// The manifest entry of a case's tensor: section "inputs" / "outputs" / "debug".
nlohmann::json manifest_entry(const std::string& case_name, const std::string& section, const std::string& field) {
  static const nlohmann::json manifest = nlohmann::json::parse(read_file(test::tiny_dir() + "/manifest.json"));
  for (const auto& c : manifest["cases"])
    if (c["name"] == case_name) return c[section][field];
  throw Error("no manifest entry for " + case_name);
}

// Counts elements outside atol + rtol·|want| (the manifest's rule for the tensor).
int64_t count_mismatches(const std::vector<float>& got, const std::vector<float>& want, int64_t want_row0,
                         int64_t rows, int64_t width, const nlohmann::json& entry) {
  const double atol = entry["atol"].get<double>(), rtol = entry.value("rtol", 0.0);
  int64_t bad = 0;
  for (int64_t i = 0; i < rows * width; ++i) {
    const double w = want[want_row0 * width + i];
    if (!(std::abs(double(got[i]) - w) <= atol + rtol * std::abs(w))) ++bad;
  }
  return bad;
}

// Max |a - b| over `rows` rows of `width`, a starting at row 0, b at row `b_row0` of its tensor.
double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b, int64_t b_row0, int64_t rows,
                    int64_t width) {
  double m = 0;
  for (int64_t i = 0; i < rows * width; ++i) m = std::max(m, std::abs(double(a[i]) - b[b_row0 * width + i]));
  return m;
}

// Golden features of one batch row, valid frames only (an unpadded clip).
LogMel golden_features(const std::string& case_name, int64_t row) {
  const TensorInfo& f = goldens().require(case_name + ".input_features");
  const std::vector<float> all = to_f32(f);
  const std::vector<int64_t> mask = to_i64(goldens().require(case_name + ".input_features_mask"));
  LogMel mel;
  mel.num_mel_bins = static_cast<int>(f.shape[2]);
  for (int64_t i = 0; i < f.shape[1]; ++i) {
    if (!mask[row * f.shape[1] + i]) continue;
    mel.features.insert(mel.features.end(), all.begin() + (row * f.shape[1] + i) * f.shape[2],
                        all.begin() + (row * f.shape[1] + i + 1) * f.shape[2]);
    mel.mask.push_back(1);
    ++mel.frames;
  }
  return mel;
}

struct ClipCheck {
  std::string case_name;
  int64_t row;
  int64_t soft_token_row0;  // where this clip's soft tokens start in <case>.soft_tokens
};

void check_clip(const ClipCheck& c, const LogMel& mel) {
  SCOPED_TRACE(c.case_name + " row " + std::to_string(c.row));
  const AudioEncoder& enc = tiny_encoder();
  const AudioConfig& cfg = enc.config();
  AudioEncoderTrace trace;
  const std::vector<float> soft = enc.encode(mel, &trace);

  const TensorInfo& mask_t = goldens().require(c.case_name + ".audio_tower_mask");
  const std::vector<int64_t> tmask = to_i64(mask_t);
  const int64_t T = mask_t.shape[1];
  int64_t n = 0;
  for (int64_t t = 0; t < T; ++t) n += tmask[c.row * T + t];
  ASSERT_EQ(n, audio_soft_token_count(mel.frames));
  ASSERT_EQ(static_cast<int64_t>(soft.size()), n * cfg.text_hidden_size);

  const auto sub = to_f32(goldens().require(c.case_name + ".subsample_output"));
  EXPECT_EQ(count_mismatches(trace.subsample_output, sub, c.row * T, n, cfg.hidden_size,
                             manifest_entry(c.case_name, "debug", "subsample_output")),
            0)
      << "max diff " << max_abs_diff(trace.subsample_output, sub, c.row * T, n, cfg.hidden_size);
  const auto tower = to_f32(goldens().require(c.case_name + ".audio_tower_output"));
  EXPECT_EQ(count_mismatches(trace.audio_tower_output, tower, c.row * T, n, cfg.output_proj_dims,
                             manifest_entry(c.case_name, "outputs", "audio_tower_output")),
            0)
      << "max diff " << max_abs_diff(trace.audio_tower_output, tower, c.row * T, n, cfg.output_proj_dims);
  const auto want_soft = to_f32(goldens().require(c.case_name + ".soft_tokens"));
  EXPECT_EQ(count_mismatches(soft, want_soft, c.soft_token_row0, n, cfg.text_hidden_size,
                             manifest_entry(c.case_name, "outputs", "soft_tokens")),
            0)
      << "max diff " << max_abs_diff(soft, want_soft, c.soft_token_row0, n, cfg.text_hidden_size);
}

}  // namespace

TEST(AudioEncoder, GoldenSpeechFromGoldenFeatures) { check_clip({"audio_speech", 0, 0}, golden_features("audio_speech", 0)); }
TEST(AudioEncoder, GoldenChirpFromGoldenFeatures) { check_clip({"audio_chirp", 0, 0}, golden_features("audio_chirp", 0)); }

// End to end from the WAV files: decode, features, tower, embedder; batch rows are separate clips.
TEST(AudioEncoder, GoldenBatchOfTwoFromWavFiles) {
  const AudioFeatureConfig fcfg = tiny_feature_config();
  const LogMel speech = log_mel_features(fcfg, load_audio_mono(test::tiny_dir() + "/speech.wav", fcfg.sample_rate));
  const LogMel chirp = log_mel_features(fcfg, load_audio_mono(test::tiny_dir() + "/chirp.wav", fcfg.sample_rate));
  check_clip({"audio_both", 0, 0}, speech);
  check_clip({"audio_both", 1, audio_soft_token_count(speech.frames)}, chirp);
}

TEST(AudioEncoder, SoftTokenCounts) {
  EXPECT_EQ(audio_soft_token_count(99), 25);
  EXPECT_EQ(audio_soft_token_count(396), 99);
  EXPECT_EQ(audio_soft_token_count(999), 250);
  EXPECT_EQ(audio_soft_token_count(2999), 750);
  EXPECT_EQ(audio_soft_token_count(1), 1);
}

TEST(AudioEncoder, RejectsWrongFeatureWidthAndEmptyClips) {
  LogMel mel;
  mel.num_mel_bins = 80;
  mel.frames = 4;
  mel.features.assign(4 * 80, 0.0f);
  mel.mask.assign(4, 1);
  EXPECT_THROW(tiny_encoder().encode(mel), Error);
  LogMel empty;
  empty.num_mel_bins = 128;
  EXPECT_THROW(tiny_encoder().encode(empty), Error);
}

TEST(AudioEncoder, ConfigWithoutAudioIsUnsupported) {
  try {
    AudioConfig::from_json(nlohmann::json{{"text_config", {{"hidden_size", 8}}}});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::unsupported);
  }
  EXPECT_TRUE(audio_tensor_specs(nlohmann::json{{"text_config", {{"hidden_size", 8}}}}).empty());
}

// The tensor list derived from config.json names exactly the tiny checkpoint's audio tensors.
TEST(AudioTensorSpecs, MatchTinyCheckpoint) {
  const TensorStore store = TensorStore::open(test::tiny_dir());
  std::set<std::string> listed;
  for (const TensorSpec& s : audio_tensor_specs(tiny_config())) {
    EXPECT_TRUE(listed.insert(s.name).second) << "listed twice: " << s.name;
    const TensorInfo* t = store.find(s.name);
    ASSERT_NE(t, nullptr) << s.name;
    EXPECT_EQ(t->shape, s.shape) << s.name;
  }
  for (const auto& [name, t] : store.tensors()) {
    if (name.rfind("model.audio_tower.", 0) == 0 || name.rfind("model.embed_audio.", 0) == 0) {
      EXPECT_TRUE(listed.count(name)) << "not listed: " << name;
    }
  }
}
