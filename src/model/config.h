// Model configuration read from a Hugging Face model folder: config.json (either a
// Gemma4ForConditionalGeneration config with a `text_config` block, or a text-only
// Gemma4ForCausalLM config) plus generation_config.json when present.
// Everything the decoder needs to know about sizes, layer pattern and ids comes from here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4 {

enum class LayerType { sliding, full };

struct RopeParams {
  std::string type = "default";  // "default" (all dims rotate) or "proportional" (a leading fraction rotates)
  double theta = 10000.0;
  double partial_rotary_factor = 1.0;
};

struct TextConfig {
  int64_t hidden_size = 0;
  int64_t num_layers = 0;
  int64_t num_heads = 0;
  int64_t num_kv_heads = 0;
  int64_t head_dim = 0;         // sliding layers
  int64_t global_head_dim = 0;  // full-attention layers
  int64_t intermediate_size = 0;
  bool use_double_wide_mlp = false;
  std::vector<LayerType> layer_types;
  int64_t sliding_window = 0;
  RopeParams rope_sliding;
  RopeParams rope_full;
  double rms_norm_eps = 1e-6;
  double final_logit_softcapping = 0.0;  // 0 = none
  int64_t vocab_size = 0;
  int64_t vocab_size_per_layer_input = 0;
  int64_t hidden_size_per_layer_input = 0;  // P, the per-layer-embedding width
  int64_t num_kv_shared_layers = 0;
  int64_t pad_token_id = 0;
  int64_t bos_token_id = 2;

  // Derived facts, all from the fields above.
  int64_t first_kv_shared_layer() const { return num_layers - num_kv_shared_layers; }
  bool is_kv_shared(int64_t layer) const { return layer >= first_kv_shared_layer(); }
  int64_t head_dim_of(int64_t layer) const;
  int64_t mlp_width_of(int64_t layer) const;  // double-wide on KV-shared layers when enabled
  const RopeParams& rope_of(int64_t layer) const;
  // The layer whose K/V cache `layer` attends to: itself, or for a KV-shared layer the last
  // earlier non-shared layer of the same type.
  int64_t kv_source_layer(int64_t layer) const;
};

struct ModelConfig {
  std::string source;        // the config.json path, for messages
  std::string architecture;  // e.g. Gemma4ForConditionalGeneration
  std::string model_type;    // "gemma4" or "gemma4_text"
  // Prefix of the text tensors: "model.language_model." (multimodal) or "model." (text-only).
  std::string text_tensor_prefix;
  TextConfig text;
  // Multimodal placeholder / delimiter ids; -1 when the config has none.
  int64_t image_token_id = -1, audio_token_id = -1, video_token_id = -1;
  int64_t boi_token_id = -1, eoi_token_id = -1, boa_token_id = -1, eoa_token_id = -1;
  // Ids that end generation: generation_config.json's eos_token_id when present, else config.json's.
  std::vector<int64_t> stop_ids;
  nlohmann::json raw;  // the whole config.json (vision/audio parts read their own blocks)
};

// Parses a config.json object. `source` names the file in error messages.
ModelConfig parse_model_config(const nlohmann::json& config, const std::string& source);
// Reads DIR/config.json and, if present, DIR/generation_config.json.
ModelConfig load_model_config(const std::string& model_dir);

}  // namespace gemma4
