// Tensors of the text decoder, derived from config.json (names as the published checkpoint).
#include "model/config.h"
#include "model/tensor_specs.h"

namespace gemma4 {

std::vector<TensorSpec> text_tensor_specs(const nlohmann::json& config_json) {
  const ModelConfig config = parse_model_config(config_json, "config.json");
  const TextConfig& c = config.text;
  const std::string& p = config.text_tensor_prefix;
  const int64_t H = c.hidden_size, P = c.hidden_size_per_layer_input, L = c.num_layers;
  auto matrix = [](std::string name, int64_t rows, int64_t cols) {
    return TensorSpec{std::move(name), {rows, cols}, TensorInit::normal, 0.02f};
  };
  auto ones = [](std::string name, int64_t n) { return TensorSpec{std::move(name), {n}, TensorInit::ones, 1.f}; };

  std::vector<TensorSpec> specs;
  specs.push_back(matrix(p + "embed_tokens.weight", c.vocab_size, H));
  specs.push_back(matrix(p + "embed_tokens_per_layer.weight", c.vocab_size_per_layer_input, L * P));
  specs.push_back(matrix(p + "per_layer_model_projection.weight", L * P, H));
  specs.push_back(ones(p + "per_layer_projection_norm.weight", P));
  specs.push_back(ones(p + "norm.weight", H));
  for (int64_t l = 0; l < L; ++l) {
    const std::string lp = p + "layers." + std::to_string(l) + ".";
    const int64_t hd = c.head_dim_of(l), F = c.mlp_width_of(l);
    specs.push_back(ones(lp + "input_layernorm.weight", H));
    specs.push_back(matrix(lp + "self_attn.q_proj.weight", c.num_heads * hd, H));
    if (!c.is_kv_shared(l)) {
      specs.push_back(matrix(lp + "self_attn.k_proj.weight", c.num_kv_heads * hd, H));
      specs.push_back(matrix(lp + "self_attn.v_proj.weight", c.num_kv_heads * hd, H));
      specs.push_back(ones(lp + "self_attn.k_norm.weight", hd));
    }
    specs.push_back(matrix(lp + "self_attn.o_proj.weight", H, c.num_heads * hd));
    specs.push_back(ones(lp + "self_attn.q_norm.weight", hd));
    specs.push_back(ones(lp + "post_attention_layernorm.weight", H));
    specs.push_back(ones(lp + "pre_feedforward_layernorm.weight", H));
    specs.push_back(matrix(lp + "mlp.gate_proj.weight", F, H));
    specs.push_back(matrix(lp + "mlp.up_proj.weight", F, H));
    specs.push_back(matrix(lp + "mlp.down_proj.weight", H, F));
    specs.push_back(ones(lp + "post_feedforward_layernorm.weight", H));
    specs.push_back(matrix(lp + "per_layer_input_gate.weight", P, H));
    specs.push_back(matrix(lp + "per_layer_projection.weight", H, P));
    specs.push_back(ones(lp + "post_per_layer_input_norm.weight", H));
    specs.push_back(ones(lp + "layer_scalar", 1));
  }
  return specs;
}

}  // namespace gemma4
