// Tensors of the vision tower and its embedder, derived from config.json (spec vision.md 4.1).
#include "model/tensor_specs.h"
#include "model/vision.h"

namespace gemma4 {

std::vector<TensorSpec> vision_tensor_specs(const nlohmann::json& config) {
  if (!VisionConfig::present(config)) return {};
  const VisionConfig c = VisionConfig::from_json(config);
  const int64_t D = c.hidden_size, F = c.intermediate_size, P = c.patch_size;
  const int64_t q_width = int64_t{c.num_heads} * c.head_dim, kv_width = int64_t{c.num_kv_heads} * c.head_dim;
  const std::string tower = "model.vision_tower.";
  std::vector<TensorSpec> specs;
  specs.push_back({tower + "patch_embedder.input_proj.weight", {D, P * P * 3}});
  specs.push_back({tower + "patch_embedder.position_embedding_table", {2, c.position_embedding_size, D}});

  // A clipped linear: its weight plus, when clipping is on, four 0-d bounds. Random
  // checkpoints get wide bounds that rarely clip.
  auto linear = [&](const std::string& name, int64_t rows, int64_t cols) {
    specs.push_back({name + ".linear.weight", {rows, cols}});
    if (!c.use_clipped_linears) return;
    specs.push_back({name + ".input_min", {}, TensorInit::constant, -100.f});
    specs.push_back({name + ".input_max", {}, TensorInit::constant, 100.f});
    specs.push_back({name + ".output_min", {}, TensorInit::constant, -100.f});
    specs.push_back({name + ".output_max", {}, TensorInit::constant, 100.f});
  };
  for (int i = 0; i < c.num_layers; ++i) {
    const std::string p = tower + "encoder.layers." + std::to_string(i) + ".";
    for (const char* norm : {"input_layernorm", "post_attention_layernorm", "pre_feedforward_layernorm",
                             "post_feedforward_layernorm"})
      specs.push_back({p + norm + ".weight", {D}, TensorInit::ones});
    specs.push_back({p + "self_attn.q_norm.weight", {c.head_dim}, TensorInit::ones});
    specs.push_back({p + "self_attn.k_norm.weight", {c.head_dim}, TensorInit::ones});
    linear(p + "self_attn.q_proj", q_width, D);
    linear(p + "self_attn.k_proj", kv_width, D);
    linear(p + "self_attn.v_proj", kv_width, D);
    linear(p + "self_attn.o_proj", D, q_width);
    linear(p + "mlp.gate_proj", F, D);
    linear(p + "mlp.up_proj", F, D);
    linear(p + "mlp.down_proj", D, F);
  }
  if (c.standardize) {
    specs.push_back({tower + "std_bias", {D}, TensorInit::zeros});
    specs.push_back({tower + "std_scale", {D}, TensorInit::ones});
  }
  specs.push_back({"model.embed_vision.embedding_projection.weight", {c.text_hidden_size, D}});
  return specs;
}

}  // namespace gemma4
