#include "model/config.h"

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/mapped_file.h"

namespace gemma4 {
namespace {

using nlohmann::json;

// Reads config fields with messages that name the file and the field.
struct FieldReader {
  const json& obj;
  std::string where;  // e.g. "model/config.json: text_config"

  bool has(const char* key) const { return obj.contains(key) && !obj[key].is_null(); }

  int64_t require_int(const char* key) const {
    check(has(key), where + ": missing field '" + key + "'");
    check(obj[key].is_number_integer(), where + ": field '" + key + "' must be an integer");
    return obj[key].get<int64_t>();
  }
  int64_t get_int(const char* key, int64_t fallback) const { return has(key) ? require_int(key) : fallback; }
  double get_double(const char* key, double fallback) const {
    if (!has(key)) return fallback;
    check(obj[key].is_number(), where + ": field '" + key + "' must be a number");
    return obj[key].get<double>();
  }
  bool get_bool(const char* key, bool fallback) const {
    if (!has(key)) return fallback;
    check(obj[key].is_boolean(), where + ": field '" + key + "' must be true or false");
    return obj[key].get<bool>();
  }
  void require_positive(const char* key, int64_t v) const {
    check(v > 0, where + ": field '" + key + "' must be positive (found " + std::to_string(v) + ")");
  }
};

std::vector<int64_t> int_list(const json& v, const std::string& where) {
  std::vector<int64_t> out;
  if (v.is_number_integer()) {
    out.push_back(v.get<int64_t>());
  } else if (v.is_array()) {
    for (const auto& x : v) {
      check(x.is_number_integer(), where + ": expected an integer or a list of integers");
      out.push_back(x.get<int64_t>());
    }
  } else if (!v.is_null()) {
    throw Error(where + ": expected an integer or a list of integers", ExitCode::bad_input);
  }
  return out;
}

RopeParams parse_rope(const json& rope_parameters, const char* layer_type, RopeParams fallback,
                      const std::string& where) {
  if (!rope_parameters.is_object() || !rope_parameters.contains(layer_type)) return fallback;
  FieldReader r{rope_parameters[layer_type], where + ".rope_parameters." + layer_type};
  RopeParams p;
  p.type = r.has("rope_type") ? r.obj["rope_type"].get<std::string>() : fallback.type;
  p.theta = r.get_double("rope_theta", fallback.theta);
  p.partial_rotary_factor = r.get_double("partial_rotary_factor", 1.0);
  check(p.type == "default" || p.type == "proportional",
        r.where + ": unsupported rope_type '" + p.type + "' (supported: default, proportional)", ExitCode::unsupported);
  check(p.partial_rotary_factor > 0 && p.partial_rotary_factor <= 1,
        r.where + ": partial_rotary_factor must be in (0, 1]");
  check(p.type == "proportional" || p.partial_rotary_factor == 1.0,
        r.where + ": partial rotation is only supported with rope_type 'proportional'", ExitCode::unsupported);
  check(p.theta > 0, r.where + ": rope_theta must be positive");
  return p;
}

TextConfig parse_text_config(const json& obj, const std::string& where) {
  FieldReader r{obj, where};
  TextConfig c;
  c.hidden_size = r.require_int("hidden_size");
  c.num_layers = r.require_int("num_hidden_layers");
  c.num_heads = r.require_int("num_attention_heads");
  c.num_kv_heads = r.require_int("num_key_value_heads");
  c.head_dim = r.get_int("head_dim", 256);
  c.global_head_dim = r.get_int("global_head_dim", 512);
  c.intermediate_size = r.require_int("intermediate_size");
  c.use_double_wide_mlp = r.get_bool("use_double_wide_mlp", false);
  c.sliding_window = r.get_int("sliding_window", 512);
  c.rms_norm_eps = r.get_double("rms_norm_eps", 1e-6);
  c.final_logit_softcapping = r.get_double("final_logit_softcapping", 0.0);
  c.vocab_size = r.require_int("vocab_size");
  c.vocab_size_per_layer_input = r.get_int("vocab_size_per_layer_input", c.vocab_size);
  c.hidden_size_per_layer_input = r.require_int("hidden_size_per_layer_input");
  c.num_kv_shared_layers = r.get_int("num_kv_shared_layers", 0);
  c.pad_token_id = r.get_int("pad_token_id", 0);
  c.bos_token_id = r.get_int("bos_token_id", 2);

  for (const char* key : {"hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "head_dim",
                          "global_head_dim", "intermediate_size", "sliding_window", "vocab_size",
                          "vocab_size_per_layer_input", "hidden_size_per_layer_input"}) {
    int64_t v = r.has(key) ? r.require_int(key) : 1;
    r.require_positive(key, v);
  }
  check(c.num_heads % c.num_kv_heads == 0, where + ": num_attention_heads (" + std::to_string(c.num_heads) +
                                               ") must be a multiple of num_key_value_heads (" +
                                               std::to_string(c.num_kv_heads) + ")");
  check(c.head_dim % 2 == 0 && c.global_head_dim % 2 == 0, where + ": head dimensions must be even (RoPE pairs)");
  check(c.num_kv_shared_layers >= 0 && c.num_kv_shared_layers < c.num_layers,
        where + ": num_kv_shared_layers must be in [0, num_hidden_layers)");
  check(c.rms_norm_eps >= 0, where + ": rms_norm_eps must not be negative");
  check(c.final_logit_softcapping >= 0, where + ": final_logit_softcapping must not be negative");

  // Features of the larger Gemma 4 models that this engine does not implement.
  check(!r.get_bool("attention_k_eq_v", false), where + ": attention_k_eq_v = true is not supported",
        ExitCode::unsupported);
  check(!r.get_bool("enable_moe_block", false), where + ": enable_moe_block = true (MoE) is not supported",
        ExitCode::unsupported);
  check(!r.has("use_bidirectional_attention"),
        where + ": use_bidirectional_attention is not supported (only causal models)", ExitCode::unsupported);

  check(r.has("layer_types") && obj["layer_types"].is_array(), where + ": missing field 'layer_types' (a list)");
  for (const auto& t : obj["layer_types"]) {
    check(t.is_string(), where + ": layer_types entries must be strings");
    const std::string s = t.get<std::string>();
    if (s == "sliding_attention") {
      c.layer_types.push_back(LayerType::sliding);
    } else if (s == "full_attention") {
      c.layer_types.push_back(LayerType::full);
    } else {
      throw Error(where + ": unknown layer type '" + s + "'", ExitCode::unsupported);
    }
  }
  check(static_cast<int64_t>(c.layer_types.size()) == c.num_layers,
        where + ": layer_types has " + std::to_string(c.layer_types.size()) + " entries, num_hidden_layers is " +
            std::to_string(c.num_layers));

  const json rope = r.has("rope_parameters") ? obj["rope_parameters"] : json::object();
  c.rope_sliding = parse_rope(rope, "sliding_attention", RopeParams{"default", 10000.0, 1.0}, where);
  c.rope_full = parse_rope(rope, "full_attention", RopeParams{"proportional", 1e6, 0.25}, where);

  // Every KV-shared layer needs an earlier non-shared layer of its type to read from.
  for (int64_t l = c.first_kv_shared_layer(); l < c.num_layers; ++l) {
    check(c.kv_source_layer(l) >= 0, where + ": KV-shared layer " + std::to_string(l) +
                                         " has no earlier layer of the same type to share K/V with");
  }
  return c;
}

int64_t optional_id(const json& obj, const char* key) {
  if (!obj.contains(key) || obj[key].is_null()) return -1;
  check(obj[key].is_number_integer(), std::string("config field '") + key + "' must be an integer");
  return obj[key].get<int64_t>();
}

}  // namespace

int64_t TextConfig::head_dim_of(int64_t layer) const {
  return layer_types[layer] == LayerType::full ? global_head_dim : head_dim;
}

int64_t TextConfig::mlp_width_of(int64_t layer) const {
  // HF: double width on the KV-shared layers, only when some layers are shared.
  bool doubled = use_double_wide_mlp && first_kv_shared_layer() > 0 && is_kv_shared(layer);
  return doubled ? 2 * intermediate_size : intermediate_size;
}

const RopeParams& TextConfig::rope_of(int64_t layer) const {
  return layer_types[layer] == LayerType::full ? rope_full : rope_sliding;
}

int64_t TextConfig::kv_source_layer(int64_t layer) const {
  if (!is_kv_shared(layer)) return layer;
  for (int64_t l = first_kv_shared_layer() - 1; l >= 0; --l)
    if (layer_types[l] == layer_types[layer]) return l;
  return -1;
}

ModelConfig parse_model_config(const json& config, const std::string& source) {
  check(config.is_object(), source + ": not a JSON object");
  ModelConfig m;
  m.source = source;
  m.raw = config;
  check(config.contains("model_type") && config["model_type"].is_string(), source + ": missing field 'model_type'");
  m.model_type = config["model_type"].get<std::string>();
  if (config.contains("architectures") && config["architectures"].is_array() && !config["architectures"].empty() &&
      config["architectures"][0].is_string())
    m.architecture = config["architectures"][0].get<std::string>();

  const json* text = nullptr;
  if (m.model_type == "gemma4") {
    check(config.contains("text_config") && config["text_config"].is_object(),
          source + ": missing field 'text_config'");
    text = &config["text_config"];
    m.text = parse_text_config(*text, source + ": text_config");
    m.text_tensor_prefix = "model.language_model.";
  } else if (m.model_type == "gemma4_text") {
    text = &config;
    m.text = parse_text_config(config, source);
    m.text_tensor_prefix = "model.";
  } else {
    throw Error(source + ": unknown model_type '" + m.model_type + "' (supported: gemma4, gemma4_text)",
                ExitCode::unsupported);
  }

  m.image_token_id = optional_id(config, "image_token_id");
  m.audio_token_id = optional_id(config, "audio_token_id");
  m.video_token_id = optional_id(config, "video_token_id");
  m.boi_token_id = optional_id(config, "boi_token_id");
  m.eoi_token_id = optional_id(config, "eoi_token_id");
  m.boa_token_id = optional_id(config, "boa_token_id");
  m.eoa_token_id = optional_id(config, "eoa_token_id");

  if (config.contains("eos_token_id")) {
    m.stop_ids = int_list(config["eos_token_id"], source + ": eos_token_id");
  } else if (text->contains("eos_token_id")) {
    m.stop_ids = int_list((*text)["eos_token_id"], source + ": eos_token_id");
  }
  return m;
}

ModelConfig load_model_config(const std::string& model_dir) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::is_directory(model_dir) ? fs::path(model_dir) : fs::path(model_dir).parent_path();
  const std::string path = (dir / "config.json").string();
  check(fs::exists(path), path + ": not found (a model folder holds config.json)", ExitCode::not_found);
  json config;
  try {
    config = json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what(), ExitCode::bad_input);
  }
  ModelConfig m = parse_model_config(config, path);

  const std::string gen_path = (dir / "generation_config.json").string();
  if (fs::exists(gen_path)) {
    json gen;
    try {
      gen = json::parse(read_file(gen_path));
    } catch (const json::exception& e) {
      throw Error(gen_path + ": invalid JSON: " + e.what(), ExitCode::bad_input);
    }
    if (gen.is_object() && gen.contains("eos_token_id"))
      m.stop_ids = int_list(gen["eos_token_id"], gen_path + ": eos_token_id");
  }
  return m;
}

}  // namespace gemma4
