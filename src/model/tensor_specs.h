// The tensors a checkpoint must hold, by name and shape, derived from its config.
// Used to validate a checkpoint at load and by `gemma4 dev make-random` to write one.
// Each model part (text decoder, vision tower, audio tower) lists its own tensors.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace gemma4 {

enum class TensorInit {
  normal,  // small random values (scale `scale`)
  ones,    // norm weights, scalars that should start at 1
  zeros,
  constant,  // every element = scale (e.g. clipped-linear bounds)
};

struct TensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  TensorInit init = TensorInit::normal;
  float scale = 0.02f;
};

// `config` is the whole parsed config.json. Each returns {} when the config has no such part.
std::vector<TensorSpec> text_tensor_specs(const nlohmann::json& config);
std::vector<TensorSpec> vision_tensor_specs(const nlohmann::json& config);
std::vector<TensorSpec> audio_tensor_specs(const nlohmann::json& config);

}  // namespace gemma4
