// The text decoder against Hugging Face transformers on the tiny model (manifest.json cases).
#include <map>

#include "golden_util.h"

using namespace gemma4;
using namespace gemma4::test;

namespace {

std::vector<float> prefill_logits(const std::vector<int64_t>& ids, const DebugTap& tap = nullptr) {
  auto decoder = tiny_decoder();
  KVCache cache = decoder->new_cache();
  Chunk chunk{&cache, ids, {}};
  return decoder->forward(std::span<Chunk>(&chunk, 1), LogitsMode::all, tap);
}

void check_prefill_case(const std::string& name) {
  const auto& c = manifest_case(name);
  const auto ids = golden_i64(c["inputs"]["input_ids"]["tensor"]);
  const auto& out = c["outputs"]["logits"];
  EXPECT_TRUE(all_close(prefill_logits(ids), golden_f32(out["tensor"]), out["atol"].get<double>()));
}

}  // namespace

TEST(TextGoldens, Prefill5) { check_prefill_case("text_prefill_5"); }
TEST(TextGoldens, Prefill20) { check_prefill_case("text_prefill_20"); }
TEST(TextGoldens, Prefill45) { check_prefill_case("text_prefill_45"); }

TEST(TextGoldens, DebugTensorsPrefill20) {
  const auto& c = manifest_case("text_prefill_20");
  ASSERT_TRUE(c.contains("debug"));
  std::map<std::string, std::vector<float>> taps;
  prefill_logits(golden_i64(c["inputs"]["input_ids"]["tensor"]),
                 [&](const std::string& name, const float* data, const std::vector<int64_t>& shape) {
                   int64_t n = 1;
                   for (int64_t d : shape) n *= d;
                   taps[name].assign(data, data + n);
                 });
  int checked = 0;
  for (const auto& [name, d] : c["debug"].items()) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(taps.count(name)) << "no debug tap named " << name;
    EXPECT_TRUE(all_close(taps[name], golden_f32(d["tensor"]), d["atol"].get<double>(), d["rtol"].get<double>()));
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

TEST(TextGoldens, GreedyDecode) {
  const auto& c = manifest_case("text_decode");
  auto decoder = tiny_decoder();
  const auto prompt = golden_i64(c["inputs"]["prompt_ids"]["tensor"]);
  const auto want_ids = golden_i64(c["outputs"]["generated_ids"]["tensor"]);
  const auto want_logits = golden_f32(c["outputs"]["step_logits"]["tensor"]);
  const double atol = c["outputs"]["step_logits"]["atol"].get<double>();
  const int64_t V = decoder->vocab_size();

  KVCache cache = decoder->new_cache();
  std::vector<int64_t> feed = prompt;
  for (size_t step = 0; step < want_ids.size(); ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    Chunk chunk{&cache, feed, {}};
    auto logits = decoder->forward(std::span<Chunk>(&chunk, 1), LogitsMode::last);
    ASSERT_EQ(static_cast<int64_t>(logits.size()), V);
    EXPECT_TRUE(all_close(logits, std::vector<float>(want_logits.begin() + step * V, want_logits.begin() + (step + 1) * V),
                          atol));
    const int64_t next = std::max_element(logits.begin(), logits.end()) - logits.begin();
    ASSERT_EQ(next, want_ids[step]);
    feed = {next};
  }
  EXPECT_EQ(cache.length(), static_cast<int64_t>(prompt.size() + want_ids.size() - 1));
}
