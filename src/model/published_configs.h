// The published Gemma 4 E2B / E4B configurations (values from shared/spec/*.md), used to
// write full-size random checkpoints for benchmarks. The engine itself never uses these:
// it reads each checkpoint's own config.json.
#pragma once
#include <string>

#include <nlohmann/json.hpp>

namespace gemma4 {

// "e2b" or "e4b": a Gemma4ForConditionalGeneration config.json (text, vision, audio blocks).
// Throws Error for any other name.
nlohmann::json published_config(const std::string& name);
// generation_config.json for a config (stop ids and sampling defaults of the -it models).
nlohmann::json generation_config_for(const nlohmann::json& config);
// processor_config.json with the published preprocessing values.
nlohmann::json published_processor_config();

}  // namespace gemma4
