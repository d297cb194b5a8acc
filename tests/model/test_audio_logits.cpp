// Audio + text through the text decoder: the audio_* logits goldens, from the WAV files.
#include <map>

#include "golden_util.h"
#include "io/npy.h"
#include "model/audio_input.h"

using namespace gemma4;
using namespace gemma4::test;

namespace {

const TensorStore& audio_goldens() {
  static TensorStore store = TensorStore::open(tiny_dir() + "/goldens_audio.safetensors");
  return store;
}

std::vector<std::string> wav_paths(const nlohmann::json& c) {
  std::vector<std::string> paths;
  for (const auto& f : c["input_files"]) paths.push_back(tiny_dir() + "/" + f.get<std::string>());
  return paths;
}

void check_audio_case(const std::string& name) {
  const auto& c = manifest_case(name);
  const std::vector<int64_t> ids = to_i64(audio_goldens().require(c["inputs"]["input_ids"]["tensor"]));
  const PlacedAudio audio = place_audio_files(tiny_dir(), wav_paths(c), ids);
  EXPECT_EQ(audio.blocks.size(), c["input_files"].size());

  auto decoder = tiny_decoder();
  KVCache cache = decoder->new_cache();
  Chunk chunk{&cache, ids, {}};
  for (const PlacedSoftToken& p : audio.placed) chunk.soft_tokens.push_back({p.index, p.row});
  std::vector<float> embeddings;
  const std::vector<float> logits = decoder->forward(
      std::span<Chunk>(&chunk, 1), LogitsMode::all,
      [&](const std::string& tap, const float* data, const std::vector<int64_t>& shape) {
        if (tap == "embeddings") embeddings.assign(data, data + shape[0] * shape[1]);
      });
  const auto& merged = c["debug"]["merged_embeddings"];
  EXPECT_TRUE(all_close(embeddings, to_f32(audio_goldens().require(merged["tensor"])), merged["atol"].get<double>(),
                        merged["rtol"].get<double>()));
  const auto& out = c["outputs"]["logits"];
  EXPECT_TRUE(all_close(logits, to_f32(audio_goldens().require(out["tensor"])), out["atol"].get<double>()));
}

}  // namespace

TEST(AudioGoldens, SpeechLogits) { check_audio_case("audio_speech"); }
TEST(AudioGoldens, ChirpLogits) { check_audio_case("audio_chirp"); }
TEST(AudioGoldens, BothLogits) { check_audio_case("audio_both"); }

TEST(AudioGoldens, LogitsCommandWithRepeatedAudio) {
  const auto& c = manifest_case("audio_both");
  const std::vector<int64_t> ids = to_i64(audio_goldens().require(c["inputs"]["input_ids"]["tensor"]));
  std::string ids_text;
  for (int64_t id : ids) ids_text += (ids_text.empty() ? "" : ",") + std::to_string(id);
  const std::string out = temp_dir("audio-logits") + "/logits.npy";
  const std::string cmd = gemma4_binary() + " logits --model " + tiny_dir() + " --ids " + ids_text + " --audio " +
                          tiny_dir() + "/speech.wav --audio " + tiny_dir() + "/chirp.wav --out " + out + " 2>&1";
  std::string log;
  ASSERT_EQ(run_command(cmd, &log), 0) << log;
  const NpyArray got = read_npy_f32(out);
  EXPECT_EQ(got.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), 1024}));
  const auto& want = c["outputs"]["logits"];
  EXPECT_TRUE(all_close(got.data, to_f32(audio_goldens().require(want["tensor"])), want["atol"].get<double>()));

  // One clip for two placeholder runs: a clear error, not a silent partial fill.
  const std::string bad = gemma4_binary() + " logits --model " + tiny_dir() + " --ids " + ids_text + " --audio " +
                          tiny_dir() + "/speech.wav --out " + out + " 2>&1";
  log.clear();
  EXPECT_EQ(run_command(bad, &log), 4) << log;
  EXPECT_NE(log.find("placeholder"), std::string::npos) << log;
}
