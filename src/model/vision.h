// The Gemma 4 vision tower and its embedder: image patches -> soft tokens in the text width.
// Spec: shared/spec/vision.md section 3. Sizes come from config.json's "vision_config".
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "model/clipped_linear.h"
#include "media/image.h"
#include "tensor/weight.h"

namespace gemma4 {

struct VisionConfig {
  int hidden_size = 0;
  int intermediate_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int num_kv_heads = 0;
  int head_dim = 0;
  int patch_size = 0;
  int pooling_kernel_size = 0;
  int position_embedding_size = 0;  // rows per axis in the learned position table
  double rope_theta = 100.0;
  double rms_norm_eps = 1e-6;
  bool use_clipped_linears = false;
  bool standardize = false;
  int text_hidden_size = 0;  // the embedder's output width

  // From the whole config.json. Throws Error if it has no usable "vision_config".
  static VisionConfig from_json(const nlohmann::json& config);
  static bool present(const nlohmann::json& config);
};



struct VisionLayer {
  std::vector<float> input_norm, post_attention_norm, pre_feedforward_norm, post_feedforward_norm;
  std::vector<float> q_norm, k_norm;  // [head_dim]
  ClippedLinear q, k, v, o, gate, up, down;
};

// Intermediate results, for checking against the reference layer by layer.
struct VisionTrace {
  std::vector<float> patch_embeddings;  // [N, hidden]
  std::vector<float> encoder_output;    // [N, hidden]
  std::vector<float> pooled;            // [T, hidden] (after the sqrt(hidden) scale)
};

class VisionModel {
 public:
  // Binds the weights named in `store` (which stays alive as long as the model).
  static VisionModel load(std::shared_ptr<const TensorStore> store, const nlohmann::json& config,
                          EncoderNumerics numerics = EncoderNumerics::exact);
  // Convenience: config.json and the weights of a model folder.
  static VisionModel load_folder(const std::string& model_dir, EncoderNumerics numerics = EncoderNumerics::exact);

  const VisionConfig& config() const { return config_; }

  // One image's patches -> soft tokens [num_patches / pool², text_hidden_size], row-major.
  std::vector<float> embed(const ImagePatches& patches, VisionTrace* trace = nullptr) const;

 private:
  std::vector<float> embed_patches(const ImagePatches& patches) const;
  // cos/sin of every patch's 2-D RoPE angles: [N][2 axes][head_dim / 4] each.
  struct RopeTable {
    std::vector<float> cos, sin;
  };
  RopeTable rope_table(const ImagePatches& patches) const;
  // The activations of one encoder layer, sized once per image and reused by every layer.
  struct LayerBuffers;
  void encoder_layer(const VisionLayer& layer, const VisionLayer* next, const ImagePatches& patches,
                     const RopeTable& rope, std::vector<float>& h, LayerBuffers& b) const;
  // b.normed -> b.branch
  void attention(const VisionLayer& layer, const ImagePatches& patches, const RopeTable& rope, LayerBuffers& b) const;
  void mlp(const VisionLayer& layer, LayerBuffers& b) const;
  std::vector<float> pool(const ImagePatches& patches, const std::vector<float>& h) const;
  std::vector<float> project(const std::vector<float>& pooled) const;

  std::shared_ptr<const TensorStore> store_;
  VisionConfig config_;
  EncoderNumerics numerics_ = EncoderNumerics::exact;
  ClippedLinear patch_projection_;            // [hidden, patch_size² * 3], unclipped
  Weight position_table_;    // [2 * position_embedding_size, hidden]: x table, then y table
  std::vector<VisionLayer> layers_;
  std::vector<float> std_bias_, std_scale_;  // only when config.standardize
  ClippedLinear embedding_projection_;        // [text_hidden, hidden], unclipped
};

}  // namespace gemma4
