// Tensors of the vision tower and its embedder, derived from config.json.
#include "model/tensor_specs.h"

namespace gemma4 {

// Not written yet: the vision tower work lists its tensors here.
std::vector<TensorSpec> vision_tensor_specs(const nlohmann::json& /*config*/) { return {}; }

}  // namespace gemma4
