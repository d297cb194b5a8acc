// The vision and audio towers of a llama.cpp mmproj GGUF (`general.architecture = clip`,
// projectors `gemma4v` and `gemma4a`), seen exactly as a Hugging Face model folder shows them:
// a config.json (vision_config / audio_config rebuilt from the file's metadata and tensor
// shapes), a TensorStore with the Hugging Face tensor names and shapes, and the image / audio
// preprocessing options. VisionModel::load and AudioInput::from_store bind it unchanged.
//
// How each stored tensor reaches the towers:
//   F32 / F16 / BF16 tensors whose layout matches  used in place (memory-mapped)
//   (plain matrices, norms, clip bounds, conv kernels)
//   the patch embedding (conv layout), the audio   converted at load to float32 in the Hugging
//   per_dim_scale (stored as softplus), and any    Face layout: the tower kernels multiply float
//   block-quantized tensor (Q8_0, Q4_0, ...)       weights only (float32 exact, packed bf16 fast)
//
// Configuration values llama.cpp hard-codes instead of storing (vision RoPE theta, the image
// budget, the audio attention context / logit cap / residual weight / epsilon) come from the
// `gemma4cpp.*` keys our `quantize --mmproj` writes, else llama.cpp's constants (Gemma 4's values).
#pragma once
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "media/audio_features.h"
#include "media/image.h"
#include "model/config.h"

namespace gemma4 {

struct MmprojModel {
  std::string path;
  // A config.json: vision_config and/or audio_config, text_config.hidden_size, and the media
  // token ids of the text model it was opened for.
  nlohmann::json config;
  std::shared_ptr<const TensorStore> store;  // Hugging Face names and shapes
  ImageProcessorConfig image_processor;
  AudioFeatureConfig audio_features;

  bool has_vision() const;
  bool has_audio() const;
};

// Opens an mmproj file for the text model `text` (its hidden size must match the projectors'
// output; its media token ids go into the config). Throws Error: not_found, bad_input (not a
// GGUF, damaged, shapes that disagree), unsupported (not an mmproj / other projector types /
// tensors no Gemma 4 tower has).
MmprojModel open_mmproj(const std::string& path, const ModelConfig& text);

// The same from the mmproj file alone (no text model): config.json's text hidden size is the
// projectors' output width, token ids are absent.
MmprojModel open_mmproj(const std::string& path);

}  // namespace gemma4
