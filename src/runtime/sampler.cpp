#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

namespace gemma4 {

int64_t argmax(const float* x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best]) best = i;
  return best;
}

Sampler::Sampler(SamplingOptions options) : options_(options), rng_(options.seed) {}

int64_t Sampler::sample(const float* logits, int64_t vocab) {
  if (options_.greedy || options_.temperature <= 0.f) return argmax(logits, vocab);

  // Candidates sorted by logit (ties: the lower id first, so the order is unique), cut to top_k.
  // The logits are copied next to their ids: sorting 262k entries through an index array
  // would read memory at random on every comparison. Scratch reused across calls: a whole
  // vocabulary of candidates is megabytes, mapped and faulted in anew if allocated per token.
  struct Candidate {
    float logit;
    int64_t id;
  };
  thread_local std::vector<Candidate> candidates;
  thread_local std::vector<double> p;
  candidates.resize(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) candidates[i] = {logits[i], i};
  const int64_t k = options_.top_k > 0 ? std::min(options_.top_k, vocab) : vocab;
  const auto higher = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  // Without a top-k cut (OpenAI's default) the whole vocabulary is sorted: partial_sort would
  // heapsort it, several times slower than sort (the same order either way).
  if (k == vocab) std::sort(candidates.begin(), candidates.end(), higher);
  else std::partial_sort(candidates.begin(), candidates.begin() + k, candidates.end(), higher);

  // Softmax at the temperature, in double.
  p.resize(static_cast<size_t>(k));
  const double mx = candidates[0].logit;
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) sum += p[i] = std::exp((candidates[i].logit - mx) / options_.temperature);
  for (double& v : p) v /= sum;

  // Nucleus: the smallest prefix whose mass reaches top_p (at least one token).
  int64_t keep = k;
  if (options_.top_p < 1.f) {
    double mass = 0;
    keep = 0;
    while (keep < k && mass < options_.top_p) mass += p[keep++];
  }
  std::discrete_distribution<int64_t> pick(p.begin(), p.begin() + keep);
  return candidates[pick(rng_)].id;
}

}  // namespace gemma4
