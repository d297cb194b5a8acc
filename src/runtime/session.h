// One conversation with the text decoder: owns a sequence's KV cache, runs prefill and
// decode steps, samples, stops on stop ids, streams tokens through a callback.
// The CLI and the server build on this.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "model/text_decoder.h"
#include "runtime/sampler.h"

namespace gemma4 {

struct GenerateOptions {
  int64_t max_tokens = 256;
  SamplingOptions sampling;
  std::vector<int64_t> stop_ids;  // empty: the model's stop ids (generation_config.json)
  bool ignore_eos = false;        // never stop on stop ids
  // Called for every generated token (stop tokens included); return false to stop early.
  std::function<bool(int64_t token)> on_token;
};

class Session {
 public:
  explicit Session(std::shared_ptr<const TextDecoder> decoder, int64_t sliding_slack = 64);

  // Feeds prompt tokens (with optional soft tokens, indices relative to `ids`); returns the
  // logits of the last position.
  std::vector<float> prefill(std::span<const int64_t> ids, std::vector<SoftToken> soft_tokens = {});
  // Feeds one token; returns its logits.
  std::vector<float> decode(int64_t token);
  // Prefills `prompt` (may be empty to continue from the cache, given `last_logits`) and
  // generates up to max_tokens tokens. Returns the generated ids (including a final stop id).
  std::vector<int64_t> generate(std::span<const int64_t> prompt, const GenerateOptions& options);

  // Rewinds to the first n tokens (prefix reuse); false when the cache cannot (see KVCache).
  bool rewind(int64_t n);
  int64_t length() const { return cache_.length(); }
  const KVCache& cache() const { return cache_; }
  const TextDecoder& decoder() const { return *decoder_; }
  const std::vector<float>& last_logits() const { return last_logits_; }

 private:
  std::shared_ptr<const TextDecoder> decoder_;
  KVCache cache_;
  std::vector<float> last_logits_;
};

}  // namespace gemma4
