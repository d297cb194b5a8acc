// Generation defaults from the checkpoint's generation_config.json (spec tokenizer_chat.md §6):
// stop ids, sampling defaults. When the file (or a field) is absent, the Gemma 4 -it defaults
// apply, with stop ids looked up by name in the tokenizer (<eos>, <turn|>, <|tool_response>).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {

class Tokenizer;

struct GenerationConfig {
  std::vector<int32_t> stop_ids;  // generation ends on any of these (sorted, unique)
  int32_t bos_id = -1, pad_id = -1;
  bool do_sample = true;
  float temperature = 1.0f;
  int32_t top_k = 64;
  float top_p = 0.95f;
  int64_t max_new_tokens = 0;  // 0: not set in the file

  // Reads DIR/generation_config.json (+ eos_token_id of DIR/config.json, unioned in).
  // `tokenizer` may be null; then missing stop ids fall back to no name lookup.
  static GenerationConfig load(const std::string& dir, const Tokenizer* tokenizer);
  // Same from JSON text ("" = file absent).
  static GenerationConfig from_json(const std::string& generation_config_json, const std::string& config_json,
                                    const Tokenizer* tokenizer);
  bool is_stop(int32_t id) const;
};

}  // namespace gemma4
