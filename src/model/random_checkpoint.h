// Writes a model folder with random bf16 weights: config.json, generation_config.json,
// processor_config.json (published configs only), model.safetensors, and optionally the
// tokenizer files. For benchmarks and tests of real sizes without the real weights.
#pragma once
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace gemma4 {

struct RandomCheckpointOptions {
  nlohmann::json config;          // the config.json to write
  std::string out_dir;            // created if missing
  uint64_t seed = 0;
  std::string tokenizer_dir;      // when set, its files are copied in
  bool write_processor_config = false;
};

// Tensors = text_tensor_specs + vision_tensor_specs + audio_tensor_specs of the config.
// model.safetensors is streamed to a temporary name and renamed when complete.
// Returns the number of bytes of model.safetensors.
uint64_t write_random_checkpoint(const RandomCheckpointOptions& options);

}  // namespace gemma4
