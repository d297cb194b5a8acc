// Choosing the next token from logits: greedy, or temperature / top-k / top-p sampling
// with a seeded generator (reproducible).
#pragma once
#include <cstdint>
#include <random>
#include <vector>

namespace gemma4 {

struct SamplingOptions {
  bool greedy = true;         // argmax (first index on ties); the other fields are then unused
  float temperature = 1.0f;   // <= 0 means greedy
  int64_t top_k = 0;          // 0 = no limit
  float top_p = 1.0f;         // 1 = no nucleus cut
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplingOptions options = {});
  int64_t sample(const float* logits, int64_t vocab);
  const SamplingOptions& options() const { return options_; }

 private:
  struct Candidate {
    float logit;
    int64_t id;
  };
  int64_t pick_nucleus(const Candidate* candidates, int64_t count, float mx, const double* vocab_weights,
                       double vocab_sum);

  SamplingOptions options_;
  std::mt19937_64 rng_;
};

// Index of the largest value (first on ties).
int64_t argmax(const float* x, int64_t n);

}  // namespace gemma4
