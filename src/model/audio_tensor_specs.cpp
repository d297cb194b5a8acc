// Tensors of the audio tower and its embedder, derived from config.json.
#include "model/tensor_specs.h"

namespace gemma4 {

// Not written yet: the audio tower work lists its tensors here.
std::vector<TensorSpec> audio_tensor_specs(const nlohmann::json& /*config*/) { return {}; }

}  // namespace gemma4
