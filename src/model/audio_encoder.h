// The Gemma 4 audio encoder (a USM-style conformer) and its embedder into the text model.
//
//   log-mel [F, mel] -> subsampling convs (2x stride-2 3x3, LayerNorm over channels, ReLU)
//   -> input projection -> conformer layers -> output projection -> RMSNorm + Linear (embedder)
//   = soft tokens [ceil(ceil(F/2)/2), text hidden]
//
// Sizes come from config.json's "audio_config"; weights are bound in place from the checkpoint.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "media/audio_features.h"
#include "model/clipped_linear.h"
#include "model/weights.h"
#include "tensor/weight.h"

namespace gemma4 {

struct AudioConfig {
  int hidden_size = 0;
  int num_layers = 0;
  int num_heads = 0;
  int head_dim = 0;
  std::vector<int> conv_channels;  // subsampling conv output channels, one per conv
  int conv_kernel_size = 0;        // light conv module's depthwise kernel
  float residual_weight = 0.5f;    // half-step feed-forwards
  int attention_context_left = 0;  // keys: self + (context_left - 2) past frames
  int attention_context_right = 0;
  float attention_logit_cap = 0;
  bool use_clipped_linears = true;
  float rms_norm_eps = 1e-6f;
  float gradient_clipping = 1e10f;
  int output_proj_dims = 0;
  int text_hidden_size = 0;  // embedder output width
  int num_mel_bins = 128;    // not in config.json: the feature extractor's feature_size
  // Prompt tokens around the soft tokens (top level of config.json); -1 when absent.
  int64_t boa_token_id = -1, audio_token_id = -1, eoa_token_id = -1;

  std::string prefix = "model.audio_tower.";
  std::string embedder_prefix = "model.embed_audio.";

  // Frequency width after the subsampling convs (each halves it, rounding up).
  int subsampled_mel_bins() const;
  int input_proj_features() const { return subsampled_mel_bins() * conv_channels.back(); }

  // From the whole config.json. Throws Error(unsupported) when it has no audio_config.
  static AudioConfig from_json(const nlohmann::json& config);
  static bool present(const nlohmann::json& config);
};

// Soft tokens per clip of F mel frames (each subsampling conv halves time, rounding up).
int64_t audio_soft_token_count(int64_t mel_frames, int num_convs = 2);


struct FeedForwardWeights {
  std::vector<float> pre_norm, post_norm;
  ClippedLinear up, down;  // ffw_layer_1, ffw_layer_2
};

struct ConformerLayerWeights {
  FeedForwardWeights ffn1, ffn2;
  std::vector<float> norm_pre_attn, norm_post_attn, norm_out;
  ClippedLinear q, k, v, post;
  Weight relative_k;
  // relative_k applied to the fixed sinusoids of every distance (AudioEncoder::relative_keys):
  // [n_rel, hidden], row r for distance max_past − r. Input-independent, so computed at load.
  std::vector<float> relative_keys;
  std::vector<float> per_dim_scale;  // raw; softplus applied at use
  std::vector<float> lconv_pre_norm, lconv_conv_norm;
  ClippedLinear linear_start, linear_end;
  std::vector<float> depthwise;         // [hidden, kernel]
  std::vector<float> depthwise_by_tap;  // the same transposed, [kernel, hidden]: vectorizes over channels
};

// Intermediate results for tests and bisecting.
struct AudioEncoderTrace {
  std::vector<float> subsample_output;    // [T, hidden]
  std::vector<float> audio_tower_output;  // [T, output_proj_dims]
};

class AudioEncoder {
 public:
  // Binds every audio tensor of `store` (shapes checked against `config`). The linears go
  // through `options.converter` like the text decoder's; the small conv kernels stay as stored.
  // EncoderNumerics::fast packs every dense product for the bf16 GEMM (model/clipped_linear.h).
  static AudioEncoder load(const TensorStore& store, const AudioConfig& config, const LoadOptions& options = {},
                           EncoderNumerics numerics = EncoderNumerics::exact);

  const AudioConfig& config() const { return cfg_; }

  // Soft tokens [N, text_hidden] for the valid frames of one clip's features.
  std::vector<float> encode(const LogMel& mel, AudioEncoderTrace* trace = nullptr) const;

 private:
  std::vector<float> subsample(const LogMel& mel, int64_t* tokens, std::vector<uint8_t>* token_mask) const;
  struct Scratch;
  void conformer_layer(const ConformerLayerWeights& w, std::vector<float>& x, int64_t T,
                       const std::vector<uint8_t>& mask, Scratch& s) const;
  void feed_forward(const FeedForwardWeights& w, std::vector<float>& x, int64_t T, Scratch& s) const;
  // The sub-blocks write their [T, hidden] output to `result`.
  void attention(const ConformerLayerWeights& w, const float* x, int64_t T, const std::vector<uint8_t>& mask,
                 Scratch& s, float* result) const;
  void light_conv(const ConformerLayerWeights& w, const std::vector<float>& x, int64_t T, Scratch& s,
                  float* result) const;
  std::vector<float> relative_keys(const Weight& relative_k) const;
  void clamp_norm_rows(const float* x, float* y, int64_t rows, const std::vector<float>& g, float lo, float hi) const;
  void add_clamped_norm(std::vector<float>& x, float* h, int64_t rows, const std::vector<float>& g, float scale) const;

  AudioConfig cfg_;
  TensorStore store_;  // keeps the mapped weights alive
  EncoderNumerics numerics_ = EncoderNumerics::exact;
  ClippedLinear conv0_, conv1_;  // subsampling conv kernels as [out, 3·3·in] float32 matrices (unclipped)
  std::vector<float> conv0_norm_, conv1_norm_;
  ClippedLinear input_proj_;  // unclipped
  std::vector<ConformerLayerWeights> layers_;
  ClippedLinear output_proj_;  // unclipped
  std::vector<float> output_proj_bias_;
  ClippedLinear embedding_projection_;  // unclipped
};

}  // namespace gemma4
