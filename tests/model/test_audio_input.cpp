// Audio file -> soft-token blocks, and the embed-audio command.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

#include "base/error.h"
#include "io/npy.h"
#include "io/safetensors.h"
#include "model/audio_input.h"
#include "test_util.h"

using namespace gemma4;

// Pieces of 3 s stand in for the 30 s default (features().max_samples, checked in
// AudioFeatures.ConfigFromProcessorConfig) to keep the test fast.
TEST(AudioInput, LongClipsBecomePiecesEncodedSeparatelyInOrder) {
  const AudioInput input = AudioInput::load(test::tiny_dir());
  EXPECT_EQ(input.features().max_samples, 480000);
  const int64_t piece = 48000;
  std::vector<float> x(16000 * 7);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * 440 * i / 16000));
  const std::vector<AudioBlock> blocks = input.embed_pcm(x, piece);
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].tokens, 75);
  EXPECT_EQ(blocks[1].tokens, 75);
  EXPECT_EQ(blocks[2].tokens, 25);
  const std::vector<float> second(x.begin() + piece, x.begin() + 2 * piece);
  EXPECT_EQ(input.embed_pcm(second)[0].soft_tokens, blocks[1].soft_tokens);
  // The last piece is encoded on its own: identical to encoding its 1 s alone.
  const std::vector<float> tail(x.begin() + 2 * piece, x.end());
  const std::vector<AudioBlock> alone = input.embed_pcm(tail);
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_EQ(alone[0].soft_tokens, blocks[2].soft_tokens);
}

TEST(AudioInput, TooShortAudioIsAClearError) {
  const AudioInput input = AudioInput::load(test::tiny_dir());
  EXPECT_THROW(input.embed_pcm(std::vector<float>(100, 0.1f)), Error);
  EXPECT_THROW(input.embed_pcm({}), Error);
}

TEST(EmbedAudioCommand, WritesGoldenSoftTokens) {
  const std::string out = test::temp_dir("embed-audio") + "/speech.npy";
  const std::string cmd = test::gemma4_binary() + " embed-audio --model " + test::tiny_dir() + " --audio " +
                          test::tiny_dir() + "/speech.wav --out " + out + " 2>&1";
  ASSERT_EQ(test::run_command(cmd), 0);
  const NpyArray got = read_npy_f32(out);
  const TensorStore goldens = TensorStore::open(test::tiny_dir() + "/goldens_audio.safetensors");
  const TensorInfo& want_t = goldens.require("audio_speech.soft_tokens");
  ASSERT_EQ(got.shape, want_t.shape);
  const std::vector<float> want = to_f32(want_t);
  double max_diff = 0;
  for (size_t i = 0; i < want.size(); ++i) max_diff = std::max(max_diff, std::abs(double(got.data[i]) - want[i]));
  EXPECT_LE(max_diff, 1e-4);  // manifest atol for soft_tokens
}

TEST(EmbedAudioCommand, BadAudioExitsWithBadInput) {
  const std::string dir = test::temp_dir("embed-audio-bad");
  const std::string cmd = "echo 'not audio' > " + dir + "/x.wav && " + test::gemma4_binary() +
                          " embed-audio --model " + test::tiny_dir() + " --audio " + dir + "/x.wav --out " + dir +
                          "/x.npy 2>&1";
  std::string out;
  EXPECT_EQ(test::run_command(cmd, &out), 4);
  EXPECT_NE(out.find("cannot decode"), std::string::npos) << out;
  std::string help;
  EXPECT_EQ(test::run_command(test::gemma4_binary() + " embed-audio --help", &help), 0);
  EXPECT_NE(help.find("30 s"), std::string::npos);
}

TEST(AudioInput, PromptIdsAndPlacementAgree) {
  const AudioInput input = AudioInput::load(test::tiny_dir());
  const AudioConfig& cfg = input.encoder().config();
  EXPECT_EQ(cfg.boa_token_id, 1001);
  EXPECT_EQ(cfg.audio_token_id, 1011);
  EXPECT_EQ(cfg.eoa_token_id, 1013);
  std::vector<AudioBlock> blocks(2);
  blocks[0].tokens = 2;
  blocks[0].soft_tokens.assign(2 * 4, 1.0f);
  blocks[1].tokens = 3;
  blocks[1].soft_tokens.assign(3 * 4, 2.0f);
  std::vector<int64_t> ids = {2, 7};
  for (int64_t id : audio_prompt_ids(blocks, cfg)) ids.push_back(id);
  ids.push_back(9);
  EXPECT_EQ(ids, (std::vector<int64_t>{2, 7, 1001, 1011, 1011, 1013, 1001, 1011, 1011, 1011, 1013, 9}));
  const auto placed = place_audio_blocks(ids, cfg.audio_token_id, blocks, 4);
  ASSERT_EQ(placed.size(), 5u);
  EXPECT_EQ(placed[0].index, 3);
  EXPECT_EQ(placed[1].row, blocks[0].soft_tokens.data() + 4);
  EXPECT_EQ(placed[2].index, 7);
  EXPECT_EQ(placed[4].row, blocks[1].soft_tokens.data() + 8);
  // Mismatched runs are errors, not silent misplacement.
  EXPECT_THROW(place_audio_blocks({1011, 1011}, 1011, blocks, 4), Error);
  EXPECT_THROW(place_audio_blocks({1011, 1011, 5, 1011, 1011}, 1011, blocks, 4), Error);
  EXPECT_THROW(place_audio_blocks({1011, 1011, 5, 1011, 1011, 1011, 5, 1011}, 1011, blocks, 4), Error);
}

// The golden prompts were built the same way: their audio runs match our blocks.
TEST(AudioInput, GoldenPromptRunsMatchOurBlocks) {
  const AudioInput input = AudioInput::load(test::tiny_dir());
  const TensorStore goldens = TensorStore::open(test::tiny_dir() + "/goldens_audio.safetensors");
  std::vector<AudioBlock> blocks = input.embed_file(test::tiny_dir() + "/speech.wav");
  for (AudioBlock& b : input.embed_file(test::tiny_dir() + "/chirp.wav")) blocks.push_back(std::move(b));
  const std::vector<int64_t> ids = to_i64(goldens.require("audio_both.input_ids"));
  const auto placed = place_audio_blocks(ids, input.encoder().config().audio_token_id, blocks,
                                         input.encoder().config().text_hidden_size);
  EXPECT_EQ(placed.size(), 149u);
}
