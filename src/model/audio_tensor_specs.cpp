// Tensors of the audio tower and its embedder, derived from config.json.
#include "model/audio_encoder.h"
#include "model/tensor_specs.h"

namespace gemma4 {
namespace {

// Clip bounds for random models: wide enough that random activations pass mostly unclipped.
constexpr float kRandomClipBound = 100.0f;

void add_clipped(std::vector<TensorSpec>& specs, const std::string& name, int64_t rows, int64_t cols, bool bounds) {
  specs.push_back({name + ".linear.weight", {rows, cols}});
  if (!bounds) return;
  specs.push_back({name + ".input_min", {}, TensorInit::constant, -kRandomClipBound});
  specs.push_back({name + ".input_max", {}, TensorInit::constant, kRandomClipBound});
  specs.push_back({name + ".output_min", {}, TensorInit::constant, -kRandomClipBound});
  specs.push_back({name + ".output_max", {}, TensorInit::constant, kRandomClipBound});
}

}  // namespace

std::vector<TensorSpec> audio_tensor_specs(const nlohmann::json& config) {
  if (!AudioConfig::present(config)) return {};
  const AudioConfig c = AudioConfig::from_json(config);
  std::vector<TensorSpec> specs;
  const std::string sscp = c.prefix + "subsample_conv_projection.";
  int64_t in_channels = 1;
  for (size_t i = 0; i < c.conv_channels.size(); ++i) {
    const std::string l = sscp + "layer" + std::to_string(i) + ".";
    specs.push_back({l + "conv.weight", {c.conv_channels[i], in_channels, 3, 3}, TensorInit::normal, 0.1f});
    specs.push_back({l + "norm.weight", {c.conv_channels[i]}, TensorInit::ones});
    in_channels = c.conv_channels[i];
  }
  specs.push_back({sscp + "input_proj_linear.weight", {c.hidden_size, c.input_proj_features()}});

  const int64_t d = c.hidden_size, ff = 4LL * d;
  const bool bounds = c.use_clipped_linears;
  for (int L = 0; L < c.num_layers; ++L) {
    const std::string p = c.prefix + "layers." + std::to_string(L) + ".";
    for (const char* f : {"feed_forward1.", "feed_forward2."}) {
      specs.push_back({p + f + "pre_layer_norm.weight", {d}, TensorInit::ones});
      specs.push_back({p + f + "post_layer_norm.weight", {d}, TensorInit::ones});
      add_clipped(specs, p + f + "ffw_layer_1", ff, d, bounds);
      add_clipped(specs, p + f + "ffw_layer_2", d, ff, bounds);
    }
    for (const char* n : {"norm_pre_attn.weight", "norm_post_attn.weight", "norm_out.weight",
                          "lconv1d.pre_layer_norm.weight", "lconv1d.conv_norm.weight"})
      specs.push_back({p + n, {d}, TensorInit::ones});
    for (const char* n : {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.post"})
      add_clipped(specs, p + n, d, d, bounds);
    specs.push_back({p + "self_attn.relative_k_proj.weight", {d, d}});
    specs.push_back({p + "self_attn.per_dim_scale", {c.head_dim}, TensorInit::normal, 0.1f});
    add_clipped(specs, p + "lconv1d.linear_start", 2 * d, d, bounds);
    add_clipped(specs, p + "lconv1d.linear_end", d, d, bounds);
    specs.push_back({p + "lconv1d.depthwise_conv1d.weight", {d, 1, c.conv_kernel_size}, TensorInit::normal, 0.2f});
  }
  specs.push_back({c.prefix + "output_proj.weight", {c.output_proj_dims, d}});
  specs.push_back({c.prefix + "output_proj.bias", {c.output_proj_dims}, TensorInit::zeros});
  specs.push_back({c.embedder_prefix + "embedding_projection.weight", {c.text_hidden_size, c.output_proj_dims}});
  return specs;
}

}  // namespace gemma4
