#include "runtime/session.h"

#include <algorithm>

#include "base/error.h"

namespace gemma4 {

Session::Session(std::shared_ptr<const TextDecoder> decoder, int64_t sliding_slack)
    : decoder_(std::move(decoder)), cache_(decoder_->new_cache(sliding_slack)) {}

std::vector<float> Session::prefill(std::span<const int64_t> ids, std::vector<SoftToken> soft_tokens) {
  Chunk chunk{&cache_, ids, std::move(soft_tokens)};
  last_logits_ = decoder_->forward(std::span<Chunk>(&chunk, 1), LogitsMode::last);
  return last_logits_;
}

std::vector<float> Session::decode(int64_t token) {
  const int64_t ids[1] = {token};
  return prefill(ids);
}

std::vector<int64_t> Session::generate(std::span<const int64_t> prompt, const GenerateOptions& options) {
  if (!prompt.empty()) prefill(prompt);
  check(!last_logits_.empty(), "generate: nothing to continue from (empty prompt and no earlier tokens)",
        ExitCode::usage);
  const std::vector<int64_t>& stops = options.stop_ids.empty() ? decoder_->model_config().stop_ids : options.stop_ids;
  Sampler sampler(options.sampling);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < options.max_tokens; ++i) {
    const int64_t token = sampler.sample(last_logits_.data(), decoder_->vocab_size());
    out.push_back(token);
    const bool keep_going = !options.on_token || options.on_token(token);
    const bool stop = !options.ignore_eos && std::find(stops.begin(), stops.end(), token) != stops.end();
    if (stop || !keep_going || i + 1 == options.max_tokens) break;
    decode(token);
  }
  return out;
}

bool Session::rewind(int64_t n) {
  if (!cache_.truncate(n)) return false;
  last_logits_.clear();  // the logits of position n-1 are not kept; feed a token to continue
  return true;
}

}  // namespace gemma4
