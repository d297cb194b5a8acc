// The vision / audio towers for the commands that encode media themselves (logits,
// embed-image, embed-audio): a model folder's own, or, for a .gguf model, those of the
// llama.cpp mmproj file given with --mmproj.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>

#include "base/error.h"
#include "cli/model_option.h"
#include "media/image.h"
#include "model/audio_input.h"
#include "model/gguf_loader.h"
#include "model/mmproj_loader.h"
#include "model/vision.h"

namespace gemma4::cli {

// The mmproj of `model` (checked against the text model), or nullopt for a model folder.
// `what` ("images" / "audio") words the error when a .gguf model comes without one.
inline std::optional<MmprojModel> open_model_mmproj(const std::string& model, const std::string& mmproj,
                                                    const std::string& what) {
  if (!is_gguf_file(model)) {
    check(mmproj.empty(), "--mmproj goes with a .gguf model; the model folder " + model +
                              " holds its own vision and audio towers",
          ExitCode::usage);
    return std::nullopt;
  }
  check(!mmproj.empty(), model + " is a text model: to read " + what + ", pass its mmproj file with --mmproj FILE.gguf",
        ExitCode::unsupported);  // as run / chat / serve say it (runtime/engine_vision.cpp)
  return open_mmproj(mmproj, open_gguf_text_model(model).config);
}

struct VisionTower {
  VisionModel model;
  ImageProcessorConfig processor;
};

inline VisionTower load_vision_tower(const std::string& model, const std::string& mmproj, EncoderNumerics numerics) {
  if (auto m = open_model_mmproj(model, mmproj, "images")) {
    check(m->has_vision(), mmproj + " has no vision encoder: it cannot read images", ExitCode::unsupported);
    return {VisionModel::load(m->store, m->config, numerics), m->image_processor};
  }
  return {VisionModel::load_folder(model, numerics), ImageProcessorConfig::load(model)};
}

inline AudioInput load_audio_tower(const std::string& model, const std::string& mmproj, EncoderNumerics numerics) {
  if (auto m = open_model_mmproj(model, mmproj, "audio")) {
    check(m->has_audio(), mmproj + " has no audio encoder: it cannot read audio", ExitCode::unsupported);
    return AudioInput::from_store(*m->store, m->config, m->audio_features, {}, numerics);
  }
  return AudioInput::load(model, {}, numerics);
}

}  // namespace gemma4::cli
