// GGUF reader/writer: round trips, strict rejection of malformed files, and the tiny goldens
// model converted to GGUF and read back through Hugging Face names.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/gguf.h"
#include "io/hf_to_gguf.h"
#include "io/safetensors.h"
#include "tensor/dtype.h"
#include "test_util.h"

using namespace gemma4;

namespace {

std::vector<uint8_t> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), {}};
}


// A small file with metadata of every kind and tensors of three types.
std::string write_sample(const std::string& dir, uint64_t alignment = 32) {
  GgufWriter w;
  w.set_alignment(alignment);
  w.set("general.architecture", GgufValue::str("test"));
  w.set("a.u32", GgufValue::u32(4000000000u));
  w.set("a.i32", GgufValue::i32(-7));
  w.set("a.u64", GgufValue::u64(1ull << 40));
  w.set("a.f32", GgufValue::f32(0.25f));
  w.set("a.bool", GgufValue::boolean(true));
  w.set("a.ints", GgufValue::array_i32({1, -2, 3}));
  w.set("a.bools", GgufValue::array_bool({true, false, true}));
  w.set("a.floats", GgufValue::array_f32({0.5, -1.5}));
  w.set("a.strings", GgufValue::array_str({"x", "", "ünï"}));
  std::vector<float> v(64);
  for (int i = 0; i < 64; ++i) v[i] = 0.1f * static_cast<float>(i - 30);
  w.add_tensor("t.f32", GgmlType::f32, {3}, quantize_ggml(GgmlType::f32, v.data(), 3));
  w.add_tensor("t.q8", GgmlType::q8_0, {32, 2}, quantize_ggml(GgmlType::q8_0, v.data(), 64));
  w.add_tensor("t.bf16", GgmlType::bf16, {8, 2, 2, 2}, quantize_ggml(GgmlType::bf16, v.data(), 64));
  const std::string path = dir + "/sample.gguf";
  w.write(path);
  return path;
}

std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    parse_gguf(bytes.data(), bytes.size(), "x.gguf");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(Gguf, WriterReaderRoundTrip) {
  for (uint64_t alignment : {32u, 64u}) {
    const auto f = GgufFile::open(write_sample(test::temp_dir("gguf"), alignment));
    EXPECT_EQ(f.contents().version, 3u);
    EXPECT_EQ(f.contents().alignment, alignment);
    EXPECT_EQ(f.get_string("general.architecture"), "test");
    EXPECT_EQ(f.get_int("a.u32"), 4000000000);
    EXPECT_EQ(f.get_int("a.i32"), -7);
    EXPECT_EQ(f.get_int("a.u64"), int64_t{1} << 40);
    EXPECT_EQ(f.get_float("a.f32"), 0.25);
    EXPECT_TRUE(f.get_bool("a.bool", false));
    EXPECT_EQ(f.find("a.ints")->ints, (std::vector<int64_t>{1, -2, 3}));
    EXPECT_EQ(f.find("a.bools")->ints, (std::vector<int64_t>{1, 0, 1}));
    EXPECT_EQ(f.find("a.floats")->floats, (std::vector<double>{0.5, -1.5}));
    EXPECT_EQ(f.get_strings("a.strings"), (std::vector<std::string>{"x", "", "ünï"}));
    EXPECT_EQ(f.get_int_per_layer("a.u32", 2), (std::vector<int64_t>{4000000000, 4000000000}));
    EXPECT_EQ(f.get_int_per_layer("a.ints", 3), (std::vector<int64_t>{1, -2, 3}));
    EXPECT_THROW(f.get_int_per_layer("a.ints", 4), Error);
    EXPECT_THROW(f.get_int("a.strings"), Error);
    EXPECT_THROW(f.get_int("missing"), Error);
    EXPECT_EQ(f.get_int("missing", 5), 5);

    ASSERT_EQ(f.tensors().size(), 3u);
    const auto& q8 = f.require_tensor("t.q8");
    EXPECT_EQ(q8.type, GgmlType::q8_0);
    EXPECT_EQ(q8.ne, (std::vector<int64_t>{32, 2}));
    EXPECT_EQ(q8.torch_shape(), (std::vector<int64_t>{2, 32}));
    EXPECT_EQ(q8.nbytes, 68u);
    for (const auto& t : f.tensors())
      EXPECT_EQ((t.data - f.mapping()->data() - f.contents().data_offset) % alignment, 0u);
    const auto x = gguf_to_f32(f.require_tensor("t.bf16"));
    ASSERT_EQ(x.size(), 64u);
    for (int i = 0; i < 64; ++i) EXPECT_EQ(x[i], bf16_to_f32(f32_to_bf16(0.1f * static_cast<float>(i - 30))));
    const auto y = gguf_to_f32(f.require_tensor("t.f32"));
    EXPECT_EQ(y, (std::vector<float>{-3.0f, 0.1f * -29, 0.1f * -28}));
    EXPECT_THROW(f.require_tensor("nope"), Error);
  }
}

// Every truncation of a valid file must be rejected with an Error, never a crash.
TEST(Gguf, RejectsEveryTruncation) {
  const auto bytes = slurp(write_sample(test::temp_dir("gguf")));
  for (size_t n = 0; n < bytes.size(); n += (n < 600 ? 1 : 97)) {
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_NE(parse_error(cut), "") << "truncated to " << n;
  }
  EXPECT_EQ(parse_error(bytes), "");
}

TEST(Gguf, RejectsMalformedHeaders) {
  const auto good = slurp(write_sample(test::temp_dir("gguf")));
  auto bad = good;
  bad[0] = 'X';
  EXPECT_NE(parse_error(bad).find("bad magic"), std::string::npos);
  bad = good;
  bad[4] = 9;  // version
  EXPECT_NE(parse_error(bad).find("version 9"), std::string::npos);
  bad = good;
  std::memset(bad.data() + 8, 0xff, 8);  // tensor count
  EXPECT_NE(parse_error(bad).find("exceeds the file"), std::string::npos);
  bad = good;
  std::memset(bad.data() + 16, 0x7f, 8);  // kv count
  EXPECT_NE(parse_error(bad), "");
}

namespace {
// Finds the tensor-info record of `name` and returns the offset just after its name.
size_t info_of(const std::vector<uint8_t>& bytes, const std::string& name) {
  for (size_t i = 8; i + 8 + name.size() <= bytes.size(); ++i) {
    uint64_t len;
    std::memcpy(&len, bytes.data() + i, 8);
    if (len == name.size() && std::memcmp(bytes.data() + i + 8, name.data(), name.size()) == 0) return i + 8 + name.size();
  }
  return 0;
}
}  // namespace

TEST(Gguf, RejectsBadTensorInfos) {
  const auto good = slurp(write_sample(test::temp_dir("gguf")));
  const size_t q8 = info_of(good, "t.q8");  // n_dims u32, ne[2] u64, type u32, offset u64
  ASSERT_GT(q8, 0u);
  auto bad = good;
  bad[q8] = 5;  // n_dims
  EXPECT_NE(parse_error(bad).find("dims"), std::string::npos);
  bad = good;
  bad[q8 + 4] = 33;  // ne0 not a whole number of Q8_0 blocks
  EXPECT_NE(parse_error(bad).find("blocks"), std::string::npos);
  bad = good;
  bad[q8 + 4] = 0;  // ne0 = 0
  EXPECT_NE(parse_error(bad).find("bad dimension"), std::string::npos);
  bad = good;
  bad[q8 + 20] = 16;  // type IQ2_XXS
  EXPECT_NE(parse_error(bad).find("unsupported tensor type IQ2_XXS"), std::string::npos);
  bad = good;
  bad[q8 + 24] = 1;  // offset misaligned
  EXPECT_NE(parse_error(bad).find("aligned"), std::string::npos);
  bad = good;
  bad[q8 + 24] = 0;  // offset 0: overlaps t.f32
  bad[q8 + 25] = 0;
  EXPECT_NE(parse_error(bad).find("overlap"), std::string::npos);
  bad = good;
  bad[q8 + 30] = 1;  // offset far past the end
  EXPECT_NE(parse_error(bad).find("past the end"), std::string::npos);
}

TEST(Gguf, NameMappingRoundTripsForEveryTinyTensor) {
  const auto store = TensorStore::open(test::tiny_dir());
  size_t text = 0, mm = 0;
  for (const auto& [name, info] : store.tensors()) {
    const auto g = hf_to_gguf_name(name);
    ASSERT_TRUE(g) << name;
    const auto back = gguf_to_hf_name(g->name, g->mmproj);
    ASSERT_TRUE(back) << g->name;
    EXPECT_EQ(back->name, name);
    (g->mmproj ? mm : text)++;
  }
  EXPECT_GT(text, 100u);
  EXPECT_GT(mm, 100u);
  EXPECT_EQ(hf_to_gguf_name("model.language_model.layers.3.layer_scalar")->name, "blk.3.layer_output_scale.weight");
  EXPECT_EQ(hf_to_gguf_name("model.language_model.layers.12.per_layer_input_gate.weight")->name, "blk.12.inp_gate.weight");
  // llama.cpp's audio conv norm names are swapped relative to their roles.
  EXPECT_EQ(hf_to_gguf_name("model.audio_tower.layers.1.lconv1d.pre_layer_norm.weight")->name, "a.blk.1.conv_norm.weight");
  EXPECT_EQ(hf_to_gguf_name("model.audio_tower.layers.1.lconv1d.conv_norm.weight")->name, "a.blk.1.norm_conv.weight");
  EXPECT_EQ(hf_to_gguf_name("model.audio_tower.layers.0.self_attn.per_dim_scale")->layout, GgufLayout::softplus);
  EXPECT_EQ(hf_to_gguf_name("model.vision_tower.encoder.layers.1.self_attn.o_proj.input_max")->name, "v.blk.1.attn_out.input_max");
  EXPECT_FALSE(hf_to_gguf_name("lm_head.weight"));
  EXPECT_FALSE(gguf_to_hf_name("rope_freqs.weight", false));
  EXPECT_FALSE(hf_to_gguf_name("model.language_model.layers.x.mlp.up_proj.weight"));
}

namespace {
const std::string& tiny_gguf(const std::string& type) {
  static std::map<std::string, std::string> paths;
  auto& p = paths[type];
  if (p.empty()) {
    const std::string dir = test::temp_dir("gguf-tiny");
    GgufConvertOptions o;
    o.type = ggml_type_from_name(type);
    write_text_gguf(test::tiny_dir(), dir + "/tiny.gguf", o);
    write_mmproj_gguf(test::tiny_dir(), dir + "/tiny-mmproj.gguf", o);
    p = dir + "/tiny";
  }
  return p;
}
}  // namespace

TEST(GgufTiny, TextMetadataFollowsLlamaCpp) {
  const auto f = GgufFile::open(tiny_gguf("bf16") + ".gguf");
  EXPECT_EQ(f.get_string("general.architecture"), "gemma4");
  EXPECT_EQ(f.get_int("gemma4.block_count"), 10);
  EXPECT_EQ(f.get_int("gemma4.embedding_length"), 64);
  EXPECT_EQ(f.get_int_per_layer("gemma4.feed_forward_length", 10),
            (std::vector<int64_t>{128, 128, 128, 128, 128, 128, 256, 256, 256, 256}));
  EXPECT_EQ(f.get_int("gemma4.attention.head_count_kv"), 1);
  EXPECT_EQ(f.get_int("gemma4.attention.key_length"), 64);
  EXPECT_EQ(f.get_int("gemma4.attention.key_length_swa"), 32);
  EXPECT_EQ(f.get_int("gemma4.attention.shared_kv_layers"), 4);
  EXPECT_EQ(f.get_int("gemma4.attention.sliding_window"), 16);
  EXPECT_EQ(f.find("gemma4.attention.sliding_window_pattern")->ints,
            (std::vector<int64_t>{1, 1, 1, 1, 0, 1, 1, 1, 1, 0}));
  EXPECT_EQ(f.get_float("gemma4.rope.freq_base"), 1e6);
  EXPECT_EQ(f.get_float("gemma4.rope.freq_base_swa"), 1e4);
  EXPECT_EQ(f.get_int("gemma4.rope.dimension_count"), 64);
  EXPECT_EQ(f.get_int("gemma4.rope.dimension_count_swa"), 32);
  EXPECT_EQ(f.get_int("gemma4.embedding_length_per_layer_input"), 16);
  EXPECT_EQ(f.get_float("gemma4.final_logit_softcapping"), 30.0);
  // Proportional RoPE: 64 * 0.25 / 2 = 8 rotated pairs, the other 24 of 32 switched off.
  const auto freqs = gguf_to_f32(f.require_tensor("rope_freqs.weight"));
  ASSERT_EQ(freqs.size(), 32u);
  for (size_t i = 0; i < 32; ++i) EXPECT_EQ(freqs[i], i < 8 ? 1.f : 1e30f) << i;
  // Synthetic tokenizer: 1024 tokens, Gemma's special ids where config.json puts them.
  const auto& tokens = f.get_strings("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 1024u);
  EXPECT_EQ(tokens[2], "<bos>");
  EXPECT_EQ(tokens[1], "<eos>");
  EXPECT_EQ(tokens[106], "<turn|>");
  EXPECT_EQ(tokens[1010], "<|image|>");
  EXPECT_EQ(f.get_int("tokenizer.ggml.bos_token_id"), 2);
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), "gemma4");
  EXPECT_FALSE(f.find_tensor("output.weight"));  // tied: llama.cpp reuses token_embd
  // 10 layers x 17 tensors - 4 shared layers x 3 (k, v, k_norm) + 5 globals + rope_freqs.
  EXPECT_EQ(f.tensors().size(), 10u * 17 - 12 + 5 + 1);
}

TEST(GgufTiny, MmprojMetadata) {
  const auto f = GgufFile::open(tiny_gguf("q8_0") + "-mmproj.gguf");
  EXPECT_EQ(f.get_string("general.architecture"), "clip");
  EXPECT_EQ(f.get_string("clip.vision.projector_type"), "gemma4v");
  EXPECT_EQ(f.get_string("clip.audio.projector_type"), "gemma4a");
  EXPECT_EQ(f.get_int("clip.vision.projection_dim"), 64);
  EXPECT_EQ(f.get_int("clip.audio.block_count"), 2);
  EXPECT_EQ(f.require_tensor("v.patch_embd.weight").ne, (std::vector<int64_t>{16, 16, 3, 32}));
  EXPECT_EQ(f.require_tensor("v.position_embd.weight").type, GgmlType::f32);
  EXPECT_EQ(f.require_tensor("a.blk.0.conv_dw.weight").ne, (std::vector<int64_t>{5, 32}));
  EXPECT_EQ(f.require_tensor("a.conv1d.1.weight").type, GgmlType::f32);
  EXPECT_EQ(f.require_tensor("v.blk.0.attn_q.input_max").ne, (std::vector<int64_t>{1}));
}

// Reading the GGUF back through HF names gives the safetensors values: exactly for bf16
// (bf16 -> bf16/f32 is lossless), and within Q8_0's rounding for q8_0.
TEST(GgufTiny, HfViewMatchesSafetensors) {
  const auto st = TensorStore::open(test::tiny_dir());
  for (const std::string type : {"bf16", "q8_0"}) {
    const auto g = GgufHfStore::open(tiny_gguf(type) + ".gguf", tiny_gguf(type) + "-mmproj.gguf");
    size_t checked = 0;
    for (const auto& [name, info] : st.tensors()) {
      const auto& e = g.require(name);
      ASSERT_EQ(e.shape, info.shape) << name;
      const auto want = to_f32(info);
      const auto got = g.to_f32(e);
      ASSERT_EQ(got.size(), want.size()) << name;
      float amax = 0;
      for (float v : want) amax = std::max(amax, std::fabs(v));
      const bool lossy_type = e.tensor->type == GgmlType::q8_0;
      for (size_t i = 0; i < want.size(); ++i) {
        // Q8_0: half a step plus the f16 rounding of the scale (127 * d * 2^-11), see test_ggml_types.
        const float tol = e.layout == GgufLayout::softplus ? 1e-5f * (1 + std::fabs(want[i]))
                          : lossy_type                      ? amax / 127.f * 0.57f
                          : e.tensor->type == GgmlType::f16 ? std::fabs(want[i]) * 0x1p-11f + 0x1p-25f  // f16 rounding
                                                            : 0.f;
        ASSERT_LE(std::fabs(got[i] - want[i]), tol) << name << "[" << i << "] as " << ggml_type_name(e.tensor->type);
      }
      ++checked;
    }
    EXPECT_EQ(checked, g.entries().size());
  }
}

TEST(GgufTiny, QuantizeCommand) {
  const std::string dir = test::temp_dir("gguf-cli");
  std::string out;
  EXPECT_EQ(test::run_command(test::gemma4_binary() + " quantize " + test::tiny_dir() + " " + dir +
                                  "/t.gguf --type q4_k --mmproj " + dir + "/m.gguf 2>&1",
                              &out),
            0)
      << out;
  EXPECT_NE(out.find("synthetic tokenizer"), std::string::npos) << out;
  const auto f = GgufFile::open(dir + "/t.gguf");
  EXPECT_EQ(f.get_int("general.file_type"), 14);
  // Rows of 64 are not whole Q4_K super-blocks (256): those fall back to Q8_0.
  EXPECT_EQ(f.require_tensor("blk.0.ffn_up.weight").type, GgmlType::q8_0);
  EXPECT_TRUE(GgufFile::open(dir + "/m.gguf").find_tensor("mm.input_projection.weight"));
  EXPECT_EQ(test::run_command(test::gemma4_binary() + " quantize " + test::tiny_dir() + " " + dir +
                              "/x.gguf --type q2_k 2>/dev/null"),
            2);
  EXPECT_NE(test::run_command(test::gemma4_binary() + " quantize /nonexistent " + dir + "/x.gguf 2>/dev/null"), 0);
}

// With a real tokenizer.json, the vocabulary, special ids and chat template come from it.
TEST(GgufTiny, TokenizerFromTokenizerJson) {
  std::string dir;
  if (const char* env = std::getenv("GEMMA4_TOKENIZER_DIR")) dir = env;
  if (dir.empty()) {
    ASSERT_EQ(test::run_command("bash " + test::shared_dir() + "/tools/gemma4-tokenizer.sh 2>/dev/null", &dir), 0);
    while (!dir.empty() && (dir.back() == '\n' || dir.back() == '\r')) dir.pop_back();
  }
  const std::string out = test::temp_dir("gguf-tok") + "/t.gguf";
  GgufConvertOptions o;
  o.type = GgmlType::bf16;
  o.tokenizer_dir = dir;
  const auto report = write_text_gguf(test::tiny_dir(), out, o);
  EXPECT_FALSE(report.synthetic_tokenizer);
  EXPECT_TRUE(report.chat_template);
  const auto f = GgufFile::open(out);
  const auto& tokens = f.get_strings("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.size(), 1024u);  // cut to the model's embedding rows
  EXPECT_EQ(tokens[2], "<bos>");
  EXPECT_EQ(tokens[106], "<turn|>");
  const auto& types = f.find("tokenizer.ggml.token_type")->ints;
  EXPECT_EQ(types[2], 3);  // CONTROL
  EXPECT_GT(f.get_strings("tokenizer.ggml.merges").size(), 100000u);
  EXPECT_NE(f.get_string("tokenizer.chat_template").find("<|turn>"), std::string::npos);
}

// Loading side: the text config and tokenizer come back out of the GGUF.
TEST(GgufTiny, TextConfigRebuiltFromMetadata) {
  const auto f = GgufFile::open(tiny_gguf("q8_0") + ".gguf");
  const auto c = gguf_to_hf_text_config(f);
  const auto want = nlohmann::json::parse(read_file(test::tiny_dir() + "/config.json"))["text_config"];
  for (const char* key : {"num_hidden_layers", "hidden_size", "max_position_embeddings", "num_attention_heads",
                          "num_kv_shared_layers", "layer_types", "intermediate_size", "use_double_wide_mlp",
                          "num_key_value_heads", "num_global_key_value_heads", "head_dim", "global_head_dim",
                          "sliding_window", "hidden_size_per_layer_input", "final_logit_softcapping", "vocab_size",
                          "vocab_size_per_layer_input", "tie_word_embeddings", "bos_token_id", "pad_token_id"})
    EXPECT_EQ(c[key], want[key]) << key;
  EXPECT_NEAR(c["rms_norm_eps"].get<double>(), want["rms_norm_eps"].get<double>(), 1e-12);
  for (const char* type : {"full_attention", "sliding_attention"})
    for (const auto& [k, v] : want["rope_parameters"][type].items()) EXPECT_EQ(c["rope_parameters"][type][k], v) << type << "." << k;

  const auto vocab = read_gguf_vocab(f);
  EXPECT_EQ(vocab.model, "gemma4");
  EXPECT_EQ(vocab.tokens.size(), 1024u);
  EXPECT_EQ(vocab.bos, 2);
  EXPECT_EQ(vocab.token_types[1010], 3);
  EXPECT_EQ(vocab.merges.size(), 26u);
  EXPECT_TRUE(vocab.add_bos);
}

// Google's original checkpoints keep K/V/k_norm on KV-shared layers; the GGUF leaves them out.
TEST(GgufTiny, DropsUnusedKvOfSharedLayers) {
  const std::string dir = test::temp_dir("gguf-kv");
  // A copy of the tiny folder whose layer 7 (KV-shared) carries k_proj, v_proj and k_norm.
  const auto st = TensorStore::open(test::tiny_dir());
  std::string header = "{";
  std::vector<uint8_t> data;
  auto add = [&](const std::string& name, const TensorInfo& t) {
    if (header.size() > 1) header += ",";
    header += "\"" + name + "\":{\"dtype\":\"" + dtype_name(t.dtype) + "\",\"shape\":" + shape_to_string(t.shape) +
              ",\"data_offsets\":[" + std::to_string(data.size()) + "," + std::to_string(data.size() + t.nbytes) + "]}";
    data.insert(data.end(), t.data, t.data + t.nbytes);
  };
  for (const auto& [name, t] : st.tensors()) add(name, t);
  const std::string l3 = "model.language_model.layers.3.self_attn.", l7 = "model.language_model.layers.7.self_attn.";
  for (const char* n : {"k_proj.weight", "v_proj.weight", "k_norm.weight"}) add(l7 + n, st.require(l3 + n));
  header += "}";
  {
    std::ofstream f(dir + "/model.safetensors", std::ios::binary);
    const uint64_t n = header.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f << header;
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    std::ofstream(dir + "/config.json") << read_file(test::tiny_dir() + "/config.json");
  }
  ASSERT_TRUE(TensorStore::open(dir).find(l7 + "k_proj.weight"));
  GgufConvertOptions o;
  o.type = GgmlType::bf16;
  write_text_gguf(dir, dir + "/t.gguf", o);
  const auto f = GgufFile::open(dir + "/t.gguf");
  EXPECT_TRUE(f.find_tensor("blk.5.attn_k.weight"));
  for (const char* n : {"blk.7.attn_k.weight", "blk.7.attn_v.weight", "blk.7.attn_k_norm.weight"}) EXPECT_FALSE(f.find_tensor(n)) << n;
  EXPECT_EQ(f.tensors().size(), 164u);
}
