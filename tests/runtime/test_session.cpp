// Session (prefill / decode / generate with stop ids and streaming) and the sampler.
#include <gtest/gtest.h>
#include <algorithm>
#include <random>
#include <cmath>
#include <numeric>

#include <map>

#include "../model/golden_util.h"
#include "base/error.h"
#include "runtime/sampler.h"
#include "runtime/session.h"

using namespace gemma4;
using namespace gemma4::test;

TEST(Session, GreedyGenerateMatchesTheGoldenDecodeAndStreams) {
  const auto prompt = golden_i64("text_decode.prompt_ids");
  const auto want = golden_i64("text_decode.generated_ids");
  Session s(tiny_decoder());
  std::vector<int64_t> streamed;
  GenerateOptions o;
  o.max_tokens = static_cast<int64_t>(want.size());
  o.ignore_eos = true;
  o.on_token = [&](int64_t t) {
    streamed.push_back(t);
    return true;
  };
  EXPECT_EQ(s.generate(prompt, o), want);
  EXPECT_EQ(streamed, want);
  // The last generated token is not fed back.
  EXPECT_EQ(s.length(), static_cast<int64_t>(prompt.size() + want.size() - 1));
}

TEST(Session, StopsAtStopIdsAndWhenTheCallbackSaysSo) {
  const auto prompt = golden_i64("text_decode.prompt_ids");
  const auto want = golden_i64("text_decode.generated_ids");
  Session s(tiny_decoder());
  GenerateOptions o;
  o.max_tokens = 16;
  o.stop_ids = {want[3]};
  auto out = s.generate(prompt, o);
  size_t first = std::find(want.begin(), want.end(), want[3]) - want.begin();
  EXPECT_EQ(out, std::vector<int64_t>(want.begin(), want.begin() + first + 1));

  Session s2(tiny_decoder());
  GenerateOptions o2;
  o2.max_tokens = 16;
  o2.ignore_eos = true;
  int calls = 0;
  o2.on_token = [&](int64_t) { return ++calls < 2; };
  EXPECT_EQ(s2.generate(prompt, o2).size(), 2u);
}

TEST(Sampler, GreedyIsArgmaxFirstOnTies) {
  const std::vector<float> l = {0.f, 3.f, 3.f, -1.f};
  Sampler s;
  EXPECT_EQ(s.sample(l.data(), 4), 1);
}

TEST(Sampler, TopKAndTopPRestrictTheCandidates) {
  const std::vector<float> l = {5.f, 4.f, 0.f, -2.f, 4.5f};
  SamplingOptions o;
  o.greedy = false;
  o.top_k = 2;
  o.seed = 3;
  Sampler s(o);
  std::map<int64_t, int> seen;
  for (int i = 0; i < 400; ++i) seen[s.sample(l.data(), 5)]++;
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_GT(seen[0], 0);
  EXPECT_GT(seen[4], 0);

  o.top_k = 0;
  o.top_p = 0.5f;  // the top token alone has p > 0.5
  Sampler nucleus(o);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(nucleus.sample(l.data(), 5), 0);
}

// Without a top-k cut only the nucleus is sorted, grown as needed: the tokens drawn are exactly
// the smallest most-likely set reaching top_p (computed here by a full sort), at their
// renormalized frequencies. Peaked logits (nucleus of a few tokens) and flat ones (a nucleus of
// thousands, past the first sorted head) both.
TEST(Sampler, NucleusWithoutTopKIsTheSortedPrefix) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  for (float spread : {6.f, 0.05f}) {
    const int64_t vocab = 20000;
    std::vector<float> l(vocab);
    for (float& v : l) v = spread * normal(rng);
    SamplingOptions o;
    o.greedy = false;
    o.top_k = 0;
    o.top_p = 0.9f;
    o.temperature = 0.8f;
    o.seed = 11;
    // The nucleus by brute force.
    std::vector<int64_t> order(vocab);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return l[a] > l[b] || (l[a] == l[b] && a < b); });
    const float mx = l[order[0]];
    double sum = 0;
    for (float v : l) sum += std::exp((double(v) - mx) / o.temperature);
    std::map<int64_t, double> nucleus;
    double mass = 0;
    for (int64_t i = 0; mass < o.top_p; ++i) {
      const double p = std::exp((double(l[order[i]]) - mx) / o.temperature) / sum;
      nucleus[order[i]] = p;
      mass += p;
    }
    Sampler s(o);
    std::map<int64_t, int> seen;
    const int draws = 4000;
    for (int i = 0; i < draws; ++i) seen[s.sample(l.data(), vocab)]++;
    for (const auto& [id, n] : seen) EXPECT_TRUE(nucleus.count(id)) << "token " << id << " is outside the nucleus";
    if (nucleus.size() < 50) {  // peaked: frequencies within 5 standard deviations
      for (const auto& [id, p] : nucleus) {
        const double expected = draws * p / mass, sd = std::sqrt(draws * (p / mass) * (1 - p / mass));
        EXPECT_NEAR(seen[id], expected, 5 * sd + 1) << "token " << id;
      }
    } else {
      EXPECT_GT(nucleus.size(), 256u);  // the flat case really grows past the first head
      EXPECT_GT(seen.size(), 1000u);
    }
  }
}

TEST(Sampler, SameSeedSameSequence) {
  std::vector<float> l(100);
  for (int i = 0; i < 100; ++i) l[i] = static_cast<float>(i % 7);
  SamplingOptions o;
  o.greedy = false;
  o.seed = 42;
  Sampler a(o), b(o);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(a.sample(l.data(), 100), b.sample(l.data(), 100));
}

TEST(Session, GenerateContinuesAfterASeparatePrefill) {
  const auto prompt = golden_i64("text_decode.prompt_ids");
  const auto want = golden_i64("text_decode.generated_ids");
  Session s(tiny_decoder());
  GenerateOptions o;
  o.max_tokens = 5;
  o.ignore_eos = true;
  EXPECT_THROW(s.generate({}, o), Error);  // nothing to continue from yet
  s.prefill(prompt);                       // e.g. a multimodal prompt with soft tokens
  EXPECT_EQ(s.generate({}, o), std::vector<int64_t>(want.begin(), want.begin() + 5));
}
