#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include "kernels/vector_ops.h"

namespace gemma4 {

int64_t argmax(const float* x, int64_t n) { return kernels::argmax(x, n); }

Sampler::Sampler(SamplingOptions options) : options_(options), rng_(options.seed) {}

int64_t Sampler::sample(const float* logits, int64_t vocab) {
  if (options_.greedy || options_.temperature <= 0.f) return argmax(logits, vocab);

  // Candidates sorted by logit (ties: the lower id first, so the order is unique). The logits
  // are copied next to their ids: sorting 262k entries through an index array would read
  // memory at random on every comparison. Scratch reused across calls: a whole vocabulary of
  // candidates is megabytes, mapped and faulted in anew if allocated per token.
  thread_local std::vector<Candidate> candidates;
  thread_local std::vector<double> weights;
  const auto fill_candidates = [&] {
    candidates.resize(static_cast<size_t>(vocab));
    for (int64_t i = 0; i < vocab; ++i) candidates[i] = {logits[i], i};
  };
  const auto higher = [](const Candidate& a, const Candidate& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  };
  if (options_.top_k > 0 && options_.top_k < vocab) {
    fill_candidates();
    std::partial_sort(candidates.begin(), candidates.begin() + options_.top_k, candidates.end(), higher);
    return pick_nucleus(candidates.data(), options_.top_k, candidates[0].logit, nullptr, 0.0);
  }
  // No top-k cut (OpenAI's default): the softmax weights of the whole vocabulary once, in id
  // order, then only as many of the most likely tokens sorted as the nucleus needs (a full sort
  // of 262k entries costs tens of milliseconds per token; the nucleus of top_p < 1 is usually a
  // few dozen).
  const float mx = *std::max_element(logits, logits + vocab);
  weights.resize(static_cast<size_t>(vocab));
  double sum = 0;
  for (int64_t i = 0; i < vocab; ++i) sum += weights[i] = std::exp((double(logits[i]) - mx) / options_.temperature);
  if (options_.top_p >= 1.f) {  // every token stays: no order needed (the distribution normalizes)
    std::discrete_distribution<int64_t> pick(weights.begin(), weights.end());
    return pick(rng_);
  }
  fill_candidates();
  for (int64_t head = std::min<int64_t>(256, vocab);; head = std::min(vocab, head * 8)) {
    std::nth_element(candidates.begin(), candidates.begin() + head - 1, candidates.end(), higher);
    std::sort(candidates.begin(), candidates.begin() + head, higher);
    double mass = 0;
    for (int64_t i = 0; i < head && mass < options_.top_p; ++i) mass += weights[candidates[i].id] / sum;
    if (mass >= options_.top_p || head == vocab) return pick_nucleus(candidates.data(), head, mx, weights.data(), sum);
  }
}

// Samples from the first `count` candidates (sorted, most likely first), cut to the smallest
// prefix whose mass reaches top_p (at least one token). vocab_weights: the softmax weights of
// the whole vocabulary by id, and vocab_sum their sum; null to weigh and normalize over these
// candidates alone (a top-k cut).
int64_t Sampler::pick_nucleus(const Candidate* candidates, int64_t count, float mx, const double* vocab_weights,
                              double vocab_sum) {
  thread_local std::vector<double> p;
  p.resize(static_cast<size_t>(count));
  double total = 0;
  for (int64_t i = 0; i < count; ++i)
    total += p[i] = vocab_weights ? vocab_weights[candidates[i].id]
                                  : std::exp((double(candidates[i].logit) - mx) / options_.temperature);
  const double norm = vocab_weights ? vocab_sum : total;
  for (double& v : p) v /= norm;
  int64_t keep = count;
  if (options_.top_p < 1.f) {
    double mass = 0;
    keep = 0;
    while (keep < count && mass < options_.top_p) mass += p[keep++];
  }
  std::discrete_distribution<int64_t> pick(p.begin(), p.begin() + keep);
  return candidates[pick(rng_)].id;
}

}  // namespace gemma4
