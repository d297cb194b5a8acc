// The Gemma 4 text decoder (float32 reference path), as in shared/spec/text_decoder.md.
//
// One `forward` call processes a batch of chunks. A chunk is one sequence's new tokens
// together with that sequence's KV cache: prefill of a prompt is one chunk of many tokens,
// batched decode is many chunks of one token each. Every matmul runs once over the rows of
// all chunks (one pass over the weights serves every sequence); attention runs per chunk
// against its own cache. Positions continue from each cache's length.
//
// `forward` is const and keeps its working memory local, so several threads may run
// forwards at once on different caches.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "model/weights.h"
#include "runtime/kv_cache.h"

namespace gemma4 {

// A multimodal embedding that replaces the token embedding at one position of a chunk.
// `row` points at hidden_size floats (used as is: no sqrt(hidden) scaling); the per-layer
// embedding lookup at that position uses the pad id. The caller keeps `row` alive during forward.
struct SoftToken {
  int64_t index = 0;  // index into the chunk's `ids` (not the absolute position)
  const float* row = nullptr;
};

struct Chunk {
  KVCache* cache = nullptr;
  std::span<const int64_t> ids;  // the placeholder id may be anything in range at soft-token positions
  std::vector<SoftToken> soft_tokens;
};

enum class LogitsMode {
  all,   // logits for every row of every chunk: [total rows, vocab]
  last,  // logits for the last row of each chunk: [num chunks, vocab]
  none,  // only update the caches
};

// Debug taps: called with intermediate tensors (rows of all chunks, in order):
// "embeddings" [n, H] (after scaling / soft tokens), "per_layer_inputs" [n, L, P],
// "layer_output.<i>" [n, H], "final_norm" [n, H].
using DebugTap = std::function<void(const std::string& name, const float* data, const std::vector<int64_t>& shape)>;

class TextDecoder {
 public:
  TextDecoder(ModelConfig config, TextWeights weights);

  // Loads config.json (+ generation_config.json) and binds the text weights of a model folder,
  // or, when `model_dir` is a .gguf file, loads that (load_gguf). The returned decoder keeps the
  // tensor store (its memory mappings) alive.
  static std::shared_ptr<TextDecoder> load(const std::string& model_dir, const LoadOptions& options = {});
  // Loads a llama.cpp `gemma4` GGUF (model/gguf_loader.h). Without a converter in `options`,
  // stored Q4_0 / Q8_0 matrices are repacked for the active ISA and float ones follow
  // options.weights (gguf_converter).
  static std::shared_ptr<TextDecoder> load_gguf(const std::string& path, const LoadOptions& options = {});

  const ModelConfig& model_config() const { return config_; }
  const TextConfig& config() const { return config_.text; }
  const TextWeights& weights() const { return weights_; }
  int64_t vocab_size() const { return config_.text.vocab_size; }

  // A fresh cache sized for this model, in kv_precision(). `forward` takes caches of either
  // precision (tests compare them on one model).
  KVCache new_cache(int64_t sliding_slack = 64) const { return KVCache(config_.text, sliding_slack, kv_precision()); }
  // f16 when the matrices are quantized (the fast paths: long-context decode is bound by
  // reading K/V, and f16 rounding is far below the quantization error); float32 on the
  // reference path (float weights), which must match the goldens bit for bit.
  KvPrecision kv_precision() const;

  // Runs the chunks, appends their K/V to their caches, returns logits as `mode` says
  // (row-major float32, softcapped). Throws Error on bad ids or an unusable cache.
  std::vector<float> forward(std::span<Chunk> chunks, LogitsMode mode, const DebugTap& tap = nullptr) const;

 private:
  struct Scratch;
  void embed(std::span<Chunk> chunks, Scratch& s, const DebugTap& tap) const;
  void per_layer_inputs(std::span<Chunk> chunks, Scratch& s, const DebugTap& tap) const;
  void attention_block(int64_t layer, std::span<Chunk> chunks, Scratch& s) const;
  void attend(int64_t layer, std::span<Chunk> chunks, Scratch& s) const;
  void mlp_block(int64_t layer, Scratch& s) const;
  void per_layer_input_block(int64_t layer, Scratch& s) const;
  void keep_output_rows(LogitsMode mode, Scratch& s) const;
  std::vector<float> output_logits(std::span<Chunk> chunks, LogitsMode mode, Scratch& s, const DebugTap& tap) const;
  void rope(float* heads, int64_t count, int64_t layer, int64_t row, Scratch& s) const;

  ModelConfig config_;
  TextWeights weights_;
  std::vector<float> inv_freq_sliding_, inv_freq_full_;  // per rotary pair; 0 = not rotated
  std::shared_ptr<const void> storage_;                  // set by load(): keeps mappings alive
};

// Inverse frequencies of one rotary pair per entry (head_dim / 2 entries).
// "default": theta^(-2i/hd) for all pairs. "proportional": the first
// int(partial · hd / 2) pairs get theta^(-2i/hd) (denominator = the full head_dim), the rest 0.
std::vector<float> rope_inverse_frequencies(const RopeParams& rope, int64_t head_dim);

}  // namespace gemma4
