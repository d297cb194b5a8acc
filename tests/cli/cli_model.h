// A runnable test model for `gemma4 run` / `gemma4 chat`: the tiny goldens config (text,
// vision and audio towers) widened to the real tokenizer's 262144-token vocabulary, random
// weights, plus the Gemma 4 tokenizer files. Built once per test process (a few seconds).
#pragma once
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "test_util.h"
#include "text/text_fixtures.h"

namespace gemma4::test {

inline const std::string& cli_model_dir() {
  static const std::string dir = [] {
    const std::string tok = tokenizer_dir();
    if (tok.empty()) throw std::runtime_error("no tokenizer: set GEMMA4_TOKENIZER_DIR");
    nlohmann::json config = nlohmann::json::parse(read_file(tiny_dir() + "/config.json"));
    config["text_config"]["vocab_size"] = 262144;
    config["text_config"]["vocab_size_per_layer_input"] = 262144;
    // The media ids of the real tokenizer (the tiny model's own ids fit its 1024-token vocab).
    const auto& t = gemma4_tokenizer();
    config["image_token_id"] = t.token_id("<|image|>");
    config["boi_token_id"] = t.token_id("<|image>");
    config["eoi_token_id"] = t.token_id("<image|>");
    config["audio_token_id"] = t.token_id("<|audio|>");
    config["boa_token_id"] = t.token_id("<|audio>");
    config["eoa_token_id"] = t.token_id("<audio|>");
    const std::string root = temp_dir("cli-model");
    std::ofstream(root + "/config.json") << config.dump(2);
    const std::string out = root + "/model";
    if (run_command(gemma4_binary() + " dev make-random --config " + root + "/config.json --out " + out +
                    " --seed 3 --tokenizer " + tok + " >/dev/null 2>&1") != 0)
      throw std::runtime_error("gemma4 dev make-random failed");
    std::filesystem::copy_file(tiny_dir() + "/processor_config.json", out + "/processor_config.json",
                               std::filesystem::copy_options::overwrite_existing);
    return out;
  }();
  return dir;
}

}  // namespace gemma4::test
