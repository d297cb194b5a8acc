// config.json parsing: both config layouts, derived layer facts, clear errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/mapped_file.h"
#include "golden_util.h"
#include "model/config.h"
#include "model/published_configs.h"

using namespace gemma4;
using namespace gemma4::test;
using nlohmann::json;

namespace {

json tiny_config_json() { return json::parse(read_file(tiny_dir() + "/config.json")); }

std::string parse_error(const json& config) {
  try {
    parse_model_config(config, "x/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Config, TinyMatchesTheManifest) {
  const ModelConfig m = load_model_config(tiny_dir());
  const TextConfig& c = m.text;
  const auto& model = manifest()["model"];
  EXPECT_EQ(m.text_tensor_prefix, "model.language_model.");
  ASSERT_EQ(c.num_layers, static_cast<int64_t>(model["layer_types"].size()));
  for (int64_t l = 0; l < c.num_layers; ++l) {
    EXPECT_EQ(c.layer_types[l] == LayerType::full, model["layer_types"][l] == "full_attention") << l;
    EXPECT_EQ(c.head_dim_of(l), model["head_dims"][l].get<int64_t>()) << l;
    EXPECT_EQ(c.mlp_width_of(l), model["mlp_intermediate_sizes"][l].get<int64_t>()) << l;
  }
  std::vector<int64_t> shared;
  for (int64_t l = 0; l < c.num_layers; ++l)
    if (c.is_kv_shared(l)) shared.push_back(l);
  EXPECT_EQ(shared, model["kv_shared_layers"].get<std::vector<int64_t>>());
  // Donors: the last non-shared layer of each type (manifest kv_store_layers = [4, 5]).
  EXPECT_EQ(c.kv_source_layer(6), 5);
  EXPECT_EQ(c.kv_source_layer(9), 4);
  EXPECT_EQ(c.kv_source_layer(3), 3);
  EXPECT_EQ(m.image_token_id, 1010);
  EXPECT_EQ(m.audio_token_id, 1011);
  EXPECT_EQ(m.stop_ids, (std::vector<int64_t>{1, 106}));
  EXPECT_EQ(c.sliding_window, 16);
  EXPECT_EQ(c.rope_full.type, "proportional");
  EXPECT_DOUBLE_EQ(c.rope_full.partial_rotary_factor, 0.25);
}

TEST(Config, PublishedE2BDonorsAndWidthsFollowTheSpec) {
  const ModelConfig m = parse_model_config(published_config("e2b"), "e2b");
  const TextConfig& c = m.text;
  EXPECT_EQ(c.first_kv_shared_layer(), 15);
  EXPECT_EQ(c.kv_source_layer(15), 13);  // sliding donor
  EXPECT_EQ(c.kv_source_layer(19), 14);  // full donor
  EXPECT_EQ(c.mlp_width_of(14), 6144);
  EXPECT_EQ(c.mlp_width_of(15), 12288);
  EXPECT_EQ(c.layer_types[4], LayerType::full);
  const ModelConfig e4b = parse_model_config(published_config("e4b"), "e4b");
  EXPECT_EQ(e4b.text.kv_source_layer(24), 22);
  EXPECT_EQ(e4b.text.kv_source_layer(29), 23);
  EXPECT_EQ(e4b.text.mlp_width_of(30), 10240);
}

TEST(Config, TextOnlyCausalLMConfig) {
  json text = tiny_config_json()["text_config"];
  text["architectures"] = {"Gemma4ForCausalLM"};
  const ModelConfig m = parse_model_config(text, "x/config.json");
  EXPECT_EQ(m.model_type, "gemma4_text");
  EXPECT_EQ(m.text_tensor_prefix, "model.");
  EXPECT_EQ(m.text.hidden_size, 64);
  EXPECT_EQ(m.stop_ids, (std::vector<int64_t>{1}));
}

TEST(Config, UnknownModelType) {
  json c = tiny_config_json();
  c["model_type"] = "llama";
  const std::string e = parse_error(c);
  EXPECT_NE(e.find("x/config.json"), std::string::npos) << e;
  EXPECT_NE(e.find("unknown model_type 'llama'"), std::string::npos) << e;
}

TEST(Config, MissingFieldsAreNamed) {
  for (const char* field : {"hidden_size", "num_hidden_layers", "vocab_size", "layer_types", "num_key_value_heads"}) {
    json c = tiny_config_json();
    c["text_config"].erase(field);
    const std::string e = parse_error(c);
    EXPECT_NE(e.find(std::string("'") + field + "'"), std::string::npos) << field << ": " << e;
  }
  json c = tiny_config_json();
  c.erase("text_config");
  EXPECT_NE(parse_error(c).find("text_config"), std::string::npos);
}

TEST(Config, InconsistentValuesAreRejected) {
  json c = tiny_config_json();
  c["text_config"]["num_hidden_layers"] = 11;
  EXPECT_NE(parse_error(c).find("layer_types has 10 entries"), std::string::npos);
  c = tiny_config_json();
  c["text_config"]["num_attention_heads"] = 3;
  c["text_config"]["num_key_value_heads"] = 2;
  EXPECT_NE(parse_error(c).find("multiple"), std::string::npos);
  c = tiny_config_json();
  c["text_config"]["hidden_size"] = "64";
  EXPECT_NE(parse_error(c).find("must be an integer"), std::string::npos);
  c = tiny_config_json();
  c["text_config"]["layer_types"][0] = "chunked_attention";
  EXPECT_NE(parse_error(c).find("unknown layer type"), std::string::npos);
  c = tiny_config_json();
  c["text_config"]["enable_moe_block"] = true;
  EXPECT_NE(parse_error(c).find("not supported"), std::string::npos);
}

TEST(Config, MissingConfigFileIsAClearError) {
  try {
    load_model_config("/nonexistent/model");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::not_found);
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
  }
}
