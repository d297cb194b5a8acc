#include "model/published_configs.h"

#include "base/error.h"

namespace gemma4 {

using nlohmann::json;

namespace {

json layer_types(int n_layers, int period) {
  json types = json::array();
  for (int l = 0; l < n_layers; ++l) types.push_back((l + 1) % period == 0 ? "full_attention" : "sliding_attention");
  return types;
}

json text_config(int hidden, int layers, int kv_heads, int period, int kv_shared, bool double_wide) {
  return json{
      {"model_type", "gemma4_text"},
      {"hidden_size", hidden},
      {"num_hidden_layers", layers},
      {"num_attention_heads", 8},
      {"num_key_value_heads", kv_heads},
      {"num_global_key_value_heads", nullptr},
      {"head_dim", 256},
      {"global_head_dim", 512},
      {"intermediate_size", 4 * hidden},
      {"use_double_wide_mlp", double_wide},
      {"layer_types", layer_types(layers, period)},
      {"sliding_window", 512},
      {"rope_parameters",
       {{"sliding_attention", {{"rope_type", "default"}, {"rope_theta", 10000.0}}},
        {"full_attention", {{"rope_type", "proportional"}, {"rope_theta", 1000000.0}, {"partial_rotary_factor", 0.25}}}}},
      {"rms_norm_eps", 1e-6},
      {"hidden_activation", "gelu_pytorch_tanh"},
      {"final_logit_softcapping", 30.0},
      {"vocab_size", 262144},
      {"vocab_size_per_layer_input", 262144},
      {"hidden_size_per_layer_input", 256},
      {"num_kv_shared_layers", kv_shared},
      {"attention_k_eq_v", false},
      {"enable_moe_block", false},
      {"use_bidirectional_attention", nullptr},
      {"tie_word_embeddings", true},
      {"max_position_embeddings", 131072},
      {"attention_bias", false},
      {"pad_token_id", 0},
      {"eos_token_id", 1},
      {"bos_token_id", 2},
      {"dtype", "bfloat16"},
  };
}

json vision_config() {
  return json{
      {"model_type", "gemma4_vision"},
      {"hidden_size", 768},
      {"intermediate_size", 3072},
      {"num_hidden_layers", 16},
      {"num_attention_heads", 12},
      {"num_key_value_heads", 12},
      {"head_dim", 64},
      {"global_head_dim", 64},
      {"patch_size", 16},
      {"pooling_kernel_size", 3},
      {"position_embedding_size", 10240},
      {"rope_parameters", {{"rope_type", "default"}, {"rope_theta", 100.0}}},
      {"hidden_activation", "gelu_pytorch_tanh"},
      {"rms_norm_eps", 1e-6},
      {"use_clipped_linears", true},
      {"standardize", false},
      {"default_output_length", 280},
      {"attention_bias", false},
      {"max_position_embeddings", 131072},
      {"dtype", "bfloat16"},
  };
}

json audio_config() {
  return json{
      {"model_type", "gemma4_audio"},
      {"hidden_size", 1024},
      {"num_hidden_layers", 12},
      {"num_attention_heads", 8},
      {"hidden_act", "silu"},
      {"subsampling_conv_channels", {128, 32}},
      {"conv_kernel_size", 5},
      {"residual_weight", 0.5},
      {"attention_chunk_size", 12},
      {"attention_context_left", 13},
      {"attention_context_right", 0},
      {"attention_logit_cap", 50.0},
      {"attention_invalid_logits_value", -1e9},
      {"use_clipped_linears", true},
      {"rms_norm_eps", 1e-6},
      {"gradient_clipping", 1e10},
      {"output_proj_dims", 1536},
      {"dtype", "bfloat16"},
  };
}

}  // namespace

json published_config(const std::string& name) {
  json text;
  if (name == "e2b") {
    text = text_config(1536, 35, 1, 5, 20, true);
  } else if (name == "e4b") {
    text = text_config(2560, 42, 2, 6, 18, false);
  } else {
    throw Error("unknown published config '" + name + "' (known: e2b, e4b)", ExitCode::usage);
  }
  return json{
      {"architectures", {"Gemma4ForConditionalGeneration"}},
      {"model_type", "gemma4"},
      {"text_config", text},
      {"vision_config", vision_config()},
      {"audio_config", audio_config()},
      {"boi_token_id", 255999},
      {"eoi_token_id", 258882},
      {"image_token_id", 258880},
      {"boa_token_id", 256000},
      {"eoa_token_id", 258883},
      {"audio_token_id", 258881},
      {"video_token_id", 258884},
      {"vision_soft_tokens_per_image", 280},
      {"eos_token_id", {1, 106}},
      {"tie_word_embeddings", true},
      {"initializer_range", 0.02},
      {"dtype", "bfloat16"},
  };
}

json generation_config_for(const json& config) {
  json eos = json::array({1, 106, 50});  // <eos>, <turn|>, <|tool_response> of the -it models
  // A custom config with a small vocabulary keeps only the stop ids that exist in it.
  const json& text = config.contains("text_config") ? config["text_config"] : config;
  if (text.contains("vocab_size") && text["vocab_size"].is_number_integer()) {
    json kept = json::array();
    for (const auto& id : eos)
      if (id.get<int64_t>() < text["vocab_size"].get<int64_t>()) kept.push_back(id);
    eos = kept;
  }
  return json{{"bos_token_id", 2}, {"pad_token_id", 0}, {"eos_token_id", eos}, {"do_sample", true},
              {"temperature", 1.0}, {"top_k", 64},       {"top_p", 0.95}};
}

json published_processor_config() {
  return json{
      {"processor_class", "Gemma4Processor"},
      {"image_seq_length", 280},
      {"audio_seq_length", 750},
      {"audio_ms_per_token", 40},
      {"image_processor",
       {{"image_processor_type", "Gemma4ImageProcessorPil"},
        {"do_convert_rgb", true},
        {"do_resize", true},
        {"resample", 3},
        {"do_rescale", true},
        {"rescale_factor", 1.0 / 255.0},
        {"do_normalize", false},
        {"image_mean", {0.0, 0.0, 0.0}},
        {"image_std", {1.0, 1.0, 1.0}},
        {"patch_size", 16},
        {"pooling_kernel_size", 3},
        {"max_soft_tokens", 280}}},
      {"feature_extractor",
       {{"feature_extractor_type", "Gemma4AudioFeatureExtractor"},
        {"feature_size", 128},
        {"sampling_rate", 16000},
        {"padding_value", 0.0},
        {"return_attention_mask", true},
        {"frame_length_ms", 20.0},
        {"hop_length_ms", 10.0},
        {"min_frequency", 0.0},
        {"max_frequency", 8000.0},
        {"preemphasis", 0.0},
        {"preemphasis_htk_flavor", true},
        {"fft_overdrive", false},
        {"dither", 0.0},
        {"input_scale_factor", 1.0},
        {"mel_floor", 0.001},
        {"per_bin_mean", nullptr},
        {"per_bin_stddev", nullptr}}},
  };
}

}  // namespace gemma4
