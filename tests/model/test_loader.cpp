// Loading checkpoints: text-only layouts, redundant shared-layer tensors, and damaged files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

#include "base/error.h"
#include "base/mapped_file.h"
#include "golden_util.h"

using namespace gemma4;
using namespace gemma4::test;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct StoredTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string dtype_code(DType t) {
  switch (t) {
    case DType::bf16: return "BF16";
    case DType::f16: return "F16";
    case DType::f32: return "F32";
    default: return "I64";
  }
}

// The tiny checkpoint's tensors, to be edited and written back.
std::map<std::string, StoredTensor> tiny_tensors() {
  auto store = TensorStore::open(tiny_dir());
  std::map<std::string, StoredTensor> out;
  for (const auto& [name, t] : store.tensors())
    out[name] = {dtype_code(t.dtype), t.shape, std::string(reinterpret_cast<const char*>(t.data), t.nbytes)};
  return out;
}

void write_safetensors(const std::string& path, const std::map<std::string, StoredTensor>& tensors) {
  json header = json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data += t.bytes;
  }
  const std::string h = header.dump();
  std::ofstream f(path, std::ios::binary);
  uint64_t n = h.size();
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << h << data;
}

// A model folder in a temp dir: `config` as config.json and `tensors` as model.safetensors.
std::string make_model(const std::string& tag, const json& config, const std::map<std::string, StoredTensor>& tensors) {
  const std::string dir = temp_dir(tag);
  std::ofstream(dir + "/config.json") << config.dump();
  write_safetensors(dir + "/model.safetensors", tensors);
  return dir;
}

json tiny_config() { return json::parse(read_file(tiny_dir() + "/config.json")); }

std::string load_error(const std::string& dir) {
  try {
    TextDecoder::load(dir);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

std::vector<float> logits_of(const TextDecoder& d, const std::vector<int64_t>& ids) {
  KVCache c = d.new_cache();
  Chunk chunk{&c, ids, {}};
  return d.forward(std::span<Chunk>(&chunk, 1), LogitsMode::all);
}

const std::string P = "model.language_model.";

}  // namespace

TEST(Loader, TextOnlyCheckpointLoadsAndMatches) {
  json text = tiny_config()["text_config"];
  text["architectures"] = {"Gemma4ForCausalLM"};
  std::map<std::string, StoredTensor> tensors;
  for (auto& [name, t] : tiny_tensors())
    if (name.rfind(P, 0) == 0) tensors["model." + name.substr(P.size())] = t;
  const std::string dir = make_model("textonly", text, tensors);
  auto d = TextDecoder::load(dir);
  const std::vector<int64_t> ids = {2, 17, 33, 400};
  EXPECT_TRUE(all_close(logits_of(*d, ids), logits_of(*tiny_decoder(), ids), 0.0));
}

TEST(Loader, ToleratesRedundantKVTensorsOnSharedLayers) {
  auto tensors = tiny_tensors();
  for (int l : {6, 7, 8, 9}) {  // the published E2B file still carries these
    const std::string donor = P + "layers." + std::to_string(l == 9 ? 4 : 5) + ".self_attn.";
    const std::string me = P + "layers." + std::to_string(l) + ".self_attn.";
    for (const char* t : {"k_proj.weight", "v_proj.weight", "k_norm.weight"}) tensors[me + t] = tensors[donor + t];
  }
  auto d = TextDecoder::load(make_model("redundant", tiny_config(), tensors));
  const std::vector<int64_t> ids = {2, 17, 33};
  EXPECT_TRUE(all_close(logits_of(*d, ids), logits_of(*tiny_decoder(), ids), 0.0));
}

TEST(Loader, MissingTensorIsNamed) {
  auto tensors = tiny_tensors();
  tensors.erase(P + "layers.3.mlp.up_proj.weight");
  const std::string e = load_error(make_model("missing", tiny_config(), tensors));
  EXPECT_NE(e.find("missing tensor " + P + "layers.3.mlp.up_proj.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
}

TEST(Loader, WrongShapeSaysExpectedAndFound) {
  auto tensors = tiny_tensors();
  tensors[P + "layers.0.self_attn.q_proj.weight"].shape = {64, 128};  // stored [128, 64]
  const std::string e = load_error(make_model("shape", tiny_config(), tensors));
  EXPECT_NE(e.find("q_proj.weight"), std::string::npos) << e;
  EXPECT_NE(e.find("[64, 128]"), std::string::npos) << e;
  EXPECT_NE(e.find("[128, 64]"), std::string::npos) << e;
}

TEST(Loader, WrongDtypeIsNamed) {
  auto tensors = tiny_tensors();
  auto& t = tensors[P + "layers.0.input_layernorm.weight"];
  t.dtype = "I16";
  const std::string e1 = load_error(make_model("dtype", tiny_config(), tensors));
  EXPECT_NE(e1.find("I16"), std::string::npos) << e1;
  t.dtype = "I8";
  t.bytes.resize(64);
  const std::string e2 = load_error(make_model("dtype2", tiny_config(), tensors));
  EXPECT_NE(e2.find("input_layernorm.weight"), std::string::npos) << e2;
  EXPECT_NE(e2.find("expected a float type"), std::string::npos) << e2;
}

TEST(Loader, TruncatedAndCorruptFiles) {
  const std::string dir = temp_dir("truncated");
  fs::copy_file(tiny_dir() + "/config.json", dir + "/config.json");
  const std::string bytes = read_file(tiny_dir() + "/model.safetensors");
  std::ofstream(dir + "/model.safetensors", std::ios::binary) << bytes.substr(0, bytes.size() - 1000);
  std::string e = load_error(dir);
  EXPECT_NE(e.find("model.safetensors"), std::string::npos) << e;
  EXPECT_FALSE(e.empty());

  std::string corrupt = bytes;
  std::memcpy(corrupt.data() + 8, "[[[", 3);
  std::ofstream(dir + "/model.safetensors", std::ios::binary | std::ios::trunc) << corrupt;
  e = load_error(dir);
  EXPECT_NE(e.find("corrupt"), std::string::npos) << e;
}

TEST(Loader, ConverterHookSeesEveryMatrix) {
  int linear = 0, embedding = 0, table = 0;
  LoadOptions options;
  options.converter = [&](const Weight& w, WeightRole role) {
    (role == WeightRole::linear ? linear : role == WeightRole::token_embedding ? embedding : table)++;
    return w;
  };
  auto d = TextDecoder::load(tiny_dir(), options);
  EXPECT_EQ(embedding, 1);
  EXPECT_EQ(table, 1);
  // per layer: q, o, gate, up, down, ple gate, ple projection (+ k, v when not shared); + the PLE model projection
  EXPECT_EQ(linear, 10 * 7 + 6 * 2 + 1);
}

TEST(Loader, Float32CheckpointGivesTheSameLogits) {
  auto tensors = tiny_tensors();
  for (auto& [name, t] : tensors) {
    if (t.dtype != "BF16") continue;
    std::string f32(t.bytes.size() * 2, '\0');
    for (size_t i = 0; i < t.bytes.size() / 2; ++i) {
      uint16_t h;
      std::memcpy(&h, t.bytes.data() + 2 * i, 2);
      const float v = bf16_to_f32(h);
      std::memcpy(f32.data() + 4 * i, &v, 4);
    }
    t = {"F32", t.shape, f32};
  }
  auto d = TextDecoder::load(make_model("f32", tiny_config(), tensors));
  EXPECT_EQ(d->weights().layers[0].q_proj.format, WeightFormat::f32);
  const std::vector<int64_t> ids = {2, 17, 33, 400};
  EXPECT_TRUE(all_close(logits_of(*d, ids), logits_of(*tiny_decoder(), ids), 0.0));
}

TEST(Loader, ShardedCheckpointGivesTheSameLogits) {
  const auto tensors = tiny_tensors();
  std::map<std::string, StoredTensor> shard[2];
  json weight_map = json::object();
  int i = 0;
  for (const auto& [name, t] : tensors) {
    const int s = i++ % 2;
    shard[s][name] = t;
    weight_map[name] = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
  }
  const std::string dir = temp_dir("sharded");
  std::ofstream(dir + "/config.json") << tiny_config().dump();
  for (int s = 0; s < 2; ++s)
    write_safetensors(dir + "/model-0000" + std::to_string(s + 1) + "-of-00002.safetensors", shard[s]);
  std::ofstream(dir + "/model.safetensors.index.json") << json{{"metadata", json::object()}, {"weight_map", weight_map}}.dump();
  auto d = TextDecoder::load(dir);
  const std::vector<int64_t> ids = {2, 17, 33, 400};
  EXPECT_TRUE(all_close(logits_of(*d, ids), logits_of(*tiny_decoder(), ids), 0.0));
}
