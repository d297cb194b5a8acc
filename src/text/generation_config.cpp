#include "text/generation_config.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "text/tokenizer.h"

namespace gemma4 {

using json = nlohmann::json;

namespace {

json parse_optional(const std::string& text, const std::string& what) {
  if (text.empty()) return json::object();
  json j = json::parse(text, nullptr, false);
  check(!j.is_discarded() && j.is_object(), what + " is not a valid JSON object");
  return j;
}

// eos_token_id may be an int or a list of ints.
void add_ids(const json& j, const char* key, std::vector<int32_t>* ids) {
  if (!j.contains(key)) return;
  const json& v = j[key];
  if (v.is_number_integer()) ids->push_back(v.get<int32_t>());
  if (v.is_array())
    for (const json& x : v)
      if (x.is_number_integer()) ids->push_back(x.get<int32_t>());
}

}  // namespace

GenerationConfig GenerationConfig::from_json(const std::string& gen_text, const std::string& config_text,
                                             const Tokenizer* tok) {
  json gen = parse_optional(gen_text, "generation_config.json");
  json config = parse_optional(config_text, "config.json");
  if (config.contains("text_config") && config["text_config"].is_object() && !config.contains("eos_token_id"))
    config = config["text_config"];
  GenerationConfig g;
  add_ids(gen, "eos_token_id", &g.stop_ids);
  add_ids(config, "eos_token_id", &g.stop_ids);
  if (!gen.contains("eos_token_id") && tok) {
    // Gemma 4 -it defaults: <eos>, <turn|>, <|tool_response>.
    for (const char* name : {"<eos>", "<turn|>", "<|tool_response>"})
      if (auto id = tok->find_token(name)) g.stop_ids.push_back(*id);
  }
  std::sort(g.stop_ids.begin(), g.stop_ids.end());
  g.stop_ids.erase(std::unique(g.stop_ids.begin(), g.stop_ids.end()), g.stop_ids.end());
  auto number = [&](const char* key, auto fallback) {
    using T = decltype(fallback);
    return gen.contains(key) && gen[key].is_number() ? gen[key].get<T>() : fallback;
  };
  g.bos_id = number("bos_token_id", tok ? tok->find_token("<bos>").value_or(-1) : -1);
  g.pad_id = number("pad_token_id", tok ? tok->find_token("<pad>").value_or(-1) : -1);
  g.do_sample = gen.contains("do_sample") && gen["do_sample"].is_boolean() ? gen["do_sample"].get<bool>() : true;
  g.temperature = number("temperature", 1.0f);
  g.top_k = number("top_k", int32_t{64});
  g.top_p = number("top_p", 0.95f);
  g.max_new_tokens = number("max_new_tokens", int64_t{0});
  return g;
}

GenerationConfig GenerationConfig::load(const std::string& dir, const Tokenizer* tok) {
  namespace fs = std::filesystem;
  auto read_if = [&](const char* name) {
    fs::path p = fs::path(dir) / name;
    return file_exists(p.string()) ? read_file(p.string()) : std::string();
  };
  return from_json(read_if("generation_config.json"), read_if("config.json"), tok);
}

bool GenerationConfig::is_stop(int32_t id) const { return std::binary_search(stop_ids.begin(), stop_ids.end(), id); }

}  // namespace gemma4
