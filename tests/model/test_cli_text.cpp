// The conformance commands on the tiny model: gemma4 logits / generate / dev make-random.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/mapped_file.h"
#include "golden_util.h"
#include "io/npy.h"

using namespace gemma4;
using namespace gemma4::test;
using nlohmann::json;

namespace {

std::string join_ids(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

}  // namespace

TEST(CliText, LogitsWritesEveryPositionAsNpy) {
  const auto& c = manifest_case("text_prefill_5");
  const auto ids = golden_i64(c["inputs"]["input_ids"]["tensor"]);
  const std::string out = temp_dir("cli-logits") + "/logits.npy";
  ASSERT_EQ(run_command(gemma4_binary() + " logits --model " + tiny_dir() + " --ids " + join_ids(ids) + " --out " + out),
            0);
  const NpyArray a = read_npy_f32(out);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{static_cast<int64_t>(ids.size()), 1024}));
  EXPECT_TRUE(all_close(a.data, golden_f32(c["outputs"]["logits"]["tensor"]), c["outputs"]["logits"]["atol"]));
}

TEST(CliText, GenerateGreedyPrintsTheGoldenIds) {
  const auto& c = manifest_case("text_decode");
  const auto prompt = golden_i64(c["inputs"]["prompt_ids"]["tensor"]);
  const auto want = golden_i64(c["outputs"]["generated_ids"]["tensor"]);
  std::string out;
  ASSERT_EQ(run_command(gemma4_binary() + " generate --model " + tiny_dir() + " --ids " + join_ids(prompt) +
                            " --max-tokens " + std::to_string(want.size()) + " --greedy --ignore-eos",
                        &out),
            0);
  EXPECT_EQ(json::parse(out).get<std::vector<int64_t>>(), want);
}

TEST(CliText, GenerateStopsAtAStopIdUnlessIgnoreEos) {
  // Generate long enough to see whether a stop id (1 or 106 in the tiny config) appears.
  std::string with_ignore, with_stop;
  const std::string base = gemma4_binary() + " generate --model " + tiny_dir() + " --ids 2,17,33 --max-tokens 40 --greedy";
  ASSERT_EQ(run_command(base + " --ignore-eos", &with_ignore), 0);
  ASSERT_EQ(run_command(base, &with_stop), 0);
  const auto all = json::parse(with_ignore).get<std::vector<int64_t>>();
  const auto stopped = json::parse(with_stop).get<std::vector<int64_t>>();
  EXPECT_EQ(all.size(), 40u);
  size_t first_stop = all.size();
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i] == 1 || all[i] == 106) {
      first_stop = i;
      break;
    }
  const size_t want_len = first_stop == all.size() ? all.size() : first_stop + 1;
  EXPECT_EQ(stopped, std::vector<int64_t>(all.begin(), all.begin() + want_len));
}

TEST(CliText, BadInputsFailWithMessages) {
  std::string out;
  EXPECT_EQ(run_command(gemma4_binary() + " generate --model /nonexistent --ids 2 2>&1", &out), 3);
  EXPECT_NE(out.find("config.json"), std::string::npos) << out;
  out.clear();
  EXPECT_EQ(run_command(gemma4_binary() + " logits --model " + tiny_dir() + " --ids 2,99999 --out /dev/null 2>&1", &out),
            2);
  EXPECT_NE(out.find("99999"), std::string::npos) << out;
  EXPECT_EQ(run_command(gemma4_binary() + " generate --model " + tiny_dir() + " --ids 2,,3 2>/dev/null"), 2);
}

TEST(CliText, MakeRandomWritesALoadableModel) {
  // A small custom config: the tiny text config with other sizes.
  json config = json::parse(read_file(tiny_dir() + "/config.json"));
  config.erase("vision_config");
  config.erase("audio_config");
  config["text_config"]["hidden_size"] = 48;
  config["text_config"]["vocab_size"] = 300;
  config["text_config"]["vocab_size_per_layer_input"] = 300;
  const std::string dir = temp_dir("make-random");
  std::ofstream(dir + "/in.json") << config.dump();
  const std::string tok = temp_dir("make-random-tok");
  std::ofstream(tok + "/tokenizer.json") << "{}";
  for (const char* sub : {"/a", "/b"})
    ASSERT_EQ(run_command(gemma4_binary() + " dev make-random --config " + dir + "/in.json --out " + dir + sub +
                          " --seed 7 --tokenizer " + tok + " 2>/dev/null"),
              0);
  EXPECT_TRUE(std::filesystem::exists(dir + "/a/tokenizer.json"));
  EXPECT_TRUE(std::filesystem::exists(dir + "/a/generation_config.json"));
  EXPECT_EQ(read_file(dir + "/a/model.safetensors"), read_file(dir + "/b/model.safetensors"));  // seeded

  auto d = TextDecoder::load(dir + "/a");
  EXPECT_EQ(d->config().hidden_size, 48);
  KVCache c = d->new_cache();
  const std::vector<int64_t> ids = {2, 17, 299};
  Chunk chunk{&c, ids, {}};
  const auto logits = d->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
  ASSERT_EQ(logits.size(), 3u * 300);
  float spread = 0;
  for (float v : logits) {
    ASSERT_TRUE(std::isfinite(v));
    spread = std::max(spread, std::fabs(v - logits[0]));
  }
  EXPECT_GT(spread, 1e-3f);  // random weights give varied logits

  std::string out;
  ASSERT_EQ(run_command(gemma4_binary() + " generate --model " + dir + "/a --ids 2,5 --max-tokens 3 --ignore-eos", &out),
            0);
  EXPECT_EQ(json::parse(out).size(), 3u);
}
