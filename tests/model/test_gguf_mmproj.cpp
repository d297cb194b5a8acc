// The vision and audio towers loaded from an mmproj GGUF (model/mmproj_loader.h): the tiny goldens
// model written with `gemma4 quantize --mmproj` (write_mmproj_gguf) in F32, BF16 and Q8_0 and read
// back must give the towers the safetensors folder gives: the same configuration, the same tensor
// values (layouts undone), the goldens' soft tokens and logits (F32: within the goldens' atol), and
// for Q8_0 soft tokens within a bound justified below. Bad or mismatched files are clear errors.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/error.h"
#include "io/gguf.h"
#include "io/hf_to_gguf.h"
#include "io/npy.h"
#include "media/image.h"
#include "model/audio_input.h"
#include "model/gguf_loader.h"
#include "model/golden_util.h"
#include "model/mmproj_loader.h"
#include "model/vision.h"
#include "test_util.h"

namespace gemma4 {
namespace {

const std::string& work_dir() {
  static const std::string dir = test::temp_dir("gguf-mmproj");
  return dir;
}

// The tiny model's mmproj (or text model) as a GGUF of `type`, written once per process.
const std::string& tiny_file(bool mmproj, const std::string& type) {
  static std::map<std::string, std::string> paths;
  std::string& p = paths[(mmproj ? "mmproj-" : "text-") + type];
  if (p.empty()) {
    GgufConvertOptions o;
    o.type = ggml_type_from_name(type);
    p = work_dir() + (mmproj ? "/tiny-mmproj-" : "/tiny-") + type + ".gguf";
    if (mmproj) write_mmproj_gguf(test::tiny_dir(), p, o);
    else write_text_gguf(test::tiny_dir(), p, o);
  }
  return p;
}

const MmprojModel& tiny_mmproj(const std::string& type) {
  static std::map<std::string, MmprojModel> models;
  auto it = models.find(type);
  if (it == models.end())
    it = models.emplace(type, open_mmproj(tiny_file(true, type), test::tiny_decoder()->model_config())).first;
  return it->second;
}

const TensorStore& goldens(const std::string& file) {
  static std::map<std::string, TensorStore> stores;
  auto it = stores.find(file);
  if (it == stores.end()) it = stores.emplace(file, TensorStore::open(test::tiny_dir() + "/" + file)).first;
  return it->second;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

double study(const std::string& name, const std::string& output) {
  return test::manifest()["tolerance_study"][name][output]["bf16_vs_f32_max_abs"].get<double>();
}
double atol(const std::string& name, const std::string& output) {
  return test::manifest_case(name)["outputs"][output]["atol"].get<double>();
}

std::vector<float> image_soft_tokens(const VisionModel& v, const ImageProcessorConfig& p) {
  return v.embed(preprocess_image(load_image(test::tiny_dir() + "/image_a.png"), p));
}
std::vector<float> folder_image_soft_tokens() {
  static const std::vector<float> soft = image_soft_tokens(VisionModel::load_folder(test::tiny_dir()),
                                                           ImageProcessorConfig::load(test::tiny_dir()));
  return soft;
}
std::vector<float> mmproj_image_soft_tokens(const std::string& type) {
  const MmprojModel& m = tiny_mmproj(type);
  return image_soft_tokens(VisionModel::load(m.store, m.config), m.image_processor);
}

std::vector<float> audio_soft_tokens(const AudioInput& in) {
  std::vector<float> all;
  for (const AudioBlock& b : in.embed_file(test::tiny_dir() + "/speech.wav"))
    all.insert(all.end(), b.soft_tokens.begin(), b.soft_tokens.end());
  return all;
}
std::vector<float> folder_audio_soft_tokens() {
  static const std::vector<float> soft = audio_soft_tokens(AudioInput::load(test::tiny_dir()));
  return soft;
}
std::vector<float> mmproj_audio_soft_tokens(const std::string& type) {
  const MmprojModel& m = tiny_mmproj(type);
  return audio_soft_tokens(AudioInput::from_store(*m.store, m.config, m.audio_features));
}

std::string ids_text(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

}  // namespace

// The configuration rebuilt from the metadata and tensor shapes is config.json's.
TEST(MmprojGguf, ConfigFromMetadata) {
  const MmprojModel& m = tiny_mmproj("f32");
  const nlohmann::json& config = test::tiny_decoder()->model_config().raw;
  const VisionConfig got = VisionConfig::from_json(m.config), want = VisionConfig::from_json(config);
  EXPECT_EQ(got.hidden_size, want.hidden_size);
  EXPECT_EQ(got.intermediate_size, want.intermediate_size);
  EXPECT_EQ(got.num_layers, want.num_layers);
  EXPECT_EQ(got.num_heads, want.num_heads);
  EXPECT_EQ(got.num_kv_heads, want.num_kv_heads);
  EXPECT_EQ(got.head_dim, want.head_dim);
  EXPECT_EQ(got.patch_size, want.patch_size);
  EXPECT_EQ(got.pooling_kernel_size, want.pooling_kernel_size);
  EXPECT_EQ(got.position_embedding_size, want.position_embedding_size);
  EXPECT_EQ(got.rope_theta, want.rope_theta);
  EXPECT_FLOAT_EQ(got.rms_norm_eps, want.rms_norm_eps);  // GGUF stores it as float32
  EXPECT_EQ(got.use_clipped_linears, want.use_clipped_linears);
  EXPECT_EQ(got.standardize, want.standardize);
  EXPECT_EQ(got.text_hidden_size, want.text_hidden_size);

  const AudioConfig a = AudioConfig::from_json(m.config), b = AudioConfig::from_json(config);
  EXPECT_EQ(a.hidden_size, b.hidden_size);
  EXPECT_EQ(a.num_layers, b.num_layers);
  EXPECT_EQ(a.num_heads, b.num_heads);
  EXPECT_EQ(a.conv_channels, b.conv_channels);
  EXPECT_EQ(a.conv_kernel_size, b.conv_kernel_size);
  EXPECT_EQ(a.residual_weight, b.residual_weight);
  EXPECT_EQ(a.attention_context_left, b.attention_context_left);
  EXPECT_EQ(a.attention_context_right, b.attention_context_right);
  EXPECT_EQ(a.attention_logit_cap, b.attention_logit_cap);
  EXPECT_EQ(a.use_clipped_linears, b.use_clipped_linears);
  EXPECT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(a.output_proj_dims, b.output_proj_dims);
  EXPECT_EQ(a.text_hidden_size, b.text_hidden_size);
  EXPECT_EQ(a.boa_token_id, b.boa_token_id);
  EXPECT_EQ(a.audio_token_id, b.audio_token_id);
  EXPECT_EQ(a.eoa_token_id, b.eoa_token_id);

  const ImageProcessorConfig p = ImageProcessorConfig::load(test::tiny_dir());
  EXPECT_EQ(m.image_processor.patch_size, p.patch_size);
  EXPECT_EQ(m.image_processor.pooling_kernel_size, p.pooling_kernel_size);
  EXPECT_EQ(m.image_processor.max_soft_tokens, p.max_soft_tokens);  // 70 here, not the default 280
  EXPECT_EQ(m.audio_features.num_mel_bins, 128);
}

// A file llama.cpp's converter wrote has none of our gemma4cpp.* keys: the values llama.cpp
// hard-codes are used, which are Gemma 4's (the tiny config has them too, except its image
// budget of 70, which falls back to the published default 280).
TEST(MmprojGguf, FileWithoutOurKeysUsesLlamaCppConstants) {
  const GgufFile ours = GgufFile::open(tiny_file(true, "f32"));
  GgufWriter w;
  size_t dropped = 0;
  for (const std::string& key : ours.contents().kv_order) {
    if (key.rfind(kMmprojExtraPrefix, 0) == 0) {
      ++dropped;
      continue;
    }
    w.set(key, ours.contents().kv.at(key));
  }
  EXPECT_EQ(dropped, 8u);
  for (const GgufTensor& t : ours.tensors())
    w.add_tensor(t.name, t.type, t.ne, std::vector<uint8_t>(t.data, t.data + t.nbytes));
  const std::string path = work_dir() + "/llama-style-mmproj.gguf";
  w.write(path);

  const MmprojModel m = open_mmproj(path, test::tiny_decoder()->model_config());
  const nlohmann::json& config = test::tiny_decoder()->model_config().raw;
  const AudioConfig a = AudioConfig::from_json(m.config), b = AudioConfig::from_json(config);
  EXPECT_EQ(a.attention_context_left, b.attention_context_left);
  EXPECT_EQ(a.attention_context_right, b.attention_context_right);
  EXPECT_EQ(a.attention_logit_cap, b.attention_logit_cap);
  EXPECT_EQ(a.residual_weight, b.residual_weight);
  EXPECT_FLOAT_EQ(a.rms_norm_eps, b.rms_norm_eps);
  EXPECT_EQ(VisionConfig::from_json(m.config).rope_theta, VisionConfig::from_json(config).rope_theta);
  EXPECT_EQ(m.image_processor.max_soft_tokens, 280);
  // The towers it gives are the same.
  EXPECT_EQ(max_abs_diff(audio_soft_tokens(AudioInput::from_store(*m.store, m.config, m.audio_features)),
                         mmproj_audio_soft_tokens("f32")),
            0.0);
}

// Every tower tensor of the checkpoint comes back under its name with its shape and values (the
// patch-embedding permutation, depthwise reshape and scalars undone). BF16 stores the
// checkpoint's own values, so they are equal; only per_dim_scale, stored as its softplus,
// comes back through log(expm1(y)) with float rounding.
TEST(MmprojGguf, TensorsMatchTheCheckpoint) {
  const MmprojModel& m = tiny_mmproj("bf16");
  const TensorStore folder = TensorStore::open(test::tiny_dir());
  size_t compared = 0;
  for (const auto& [name, info] : folder.tensors()) {
    if (name.rfind("model.language_model.", 0) == 0) continue;
    const TensorInfo* t = m.store->find(name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->shape, info.shape) << name;
    const std::vector<float> got = to_f32(*t), want = to_f32(info);
    if (name.find("per_dim_scale") != std::string::npos) {
      EXPECT_TRUE(test::all_close(got, want, 1e-6, 1e-5)) << name;
    } else {
      EXPECT_EQ(max_abs_diff(got, want), 0.0) << name;
    }
    ++compared;
  }
  EXPECT_EQ(compared, m.store->tensors().size());
}

// F32 file, float32 (exact) towers: the goldens' soft tokens within their atol, and our own
// safetensors path's within the same atol (the stored values are the same; the kernels
// multiply f32 instead of bf16 weights).
TEST(MmprojGguf, F32ImageSoftTokensMatchGoldens) {
  const std::vector<float> got = mmproj_image_soft_tokens("f32");
  const double a = atol("image_a", "soft_tokens");
  EXPECT_TRUE(test::all_close(got, to_f32(goldens("goldens_image.safetensors").require("image_a.soft_tokens")), a));
  const double d = max_abs_diff(got, folder_image_soft_tokens());
  EXPECT_LE(d, a);
  std::printf("image_a soft tokens, F32 mmproj vs safetensors: max |diff| %.3g (atol %.3g)\n", d, a);
}

TEST(MmprojGguf, F32AudioSoftTokensMatchGoldens) {
  const std::vector<float> got = mmproj_audio_soft_tokens("f32");
  const double a = atol("audio_speech", "soft_tokens");
  EXPECT_TRUE(test::all_close(got, to_f32(goldens("goldens_audio.safetensors").require("audio_speech.soft_tokens")), a));
  const double d = max_abs_diff(got, folder_audio_soft_tokens());
  EXPECT_LE(d, a);
  std::printf("audio_speech soft tokens, F32 mmproj vs safetensors: max |diff| %.3g (atol %.3g)\n", d, a);
}

// BF16 holds the checkpoint's values exactly: the towers give our safetensors path's soft tokens
// within the goldens' float32 atol.
TEST(MmprojGguf, Bf16SoftTokensMatchSafetensors) {
  EXPECT_LE(max_abs_diff(mmproj_image_soft_tokens("bf16"), folder_image_soft_tokens()), atol("image_a", "soft_tokens"));
  EXPECT_LE(max_abs_diff(mmproj_audio_soft_tokens("bf16"), folder_audio_soft_tokens()),
            atol("audio_speech", "soft_tokens"));
}

// Q8_0 matrices (dequantized at load, float32 products): each weight moves by at most half a
// step of its 32-block's max/127, a relative error of about 2^-8 of the block maximum, twice
// bf16's 2^-9 relative rounding. The goldens' tolerance study measured what rounding every
// activation to bf16 does to the soft tokens (image_a 0.025, audio_speech 0.057); the bound is
// twice that, as for the text model's Q8_0 files (tools/llama_parity/README.md).
TEST(MmprojGguf, Q8SoftTokensWithinBound) {
  const double di = max_abs_diff(mmproj_image_soft_tokens("q8_0"), folder_image_soft_tokens());
  const double da = max_abs_diff(mmproj_audio_soft_tokens("q8_0"), folder_audio_soft_tokens());
  const double bi = 2 * study("image_a", "soft_tokens"), ba = 2 * study("audio_speech", "soft_tokens");
  EXPECT_LE(di, bi);
  EXPECT_LE(da, ba);
  // Not the float path's numbers: the weights really are the 8-bit ones.
  EXPECT_GT(di, 0.0);
  std::printf("Q8_0 mmproj vs safetensors soft tokens: image_a %.3g (bound %.3g), audio_speech %.3g (bound %.3g)\n", di,
              bi, da, ba);
}

// `gemma4 logits --model TEXT.gguf --mmproj MMPROJ.gguf --image/--audio`: the goldens' logits
// (F32 files: the float32 reference path end to end).
TEST(MmprojGguf, LogitsCommandMatchesGoldens) {
  const std::string model = tiny_file(false, "f32"), mmproj = tiny_file(true, "f32");
  const std::string out = work_dir() + "/logits.npy";
  {
    const std::vector<int64_t> ids = to_i64(goldens("goldens_image.safetensors").require("image_a.input_ids"));
    const std::string cmd = test::gemma4_binary() + " logits --model " + model + " --mmproj " + mmproj + " --ids " +
                            ids_text(ids) + " --image " + test::tiny_dir() + "/image_a.png --out " + out;
    ASSERT_EQ(test::run_command(cmd), 0) << cmd;
    EXPECT_TRUE(test::all_close(read_npy_f32(out).data,
                                to_f32(goldens("goldens_image.safetensors").require("image_a.logits")),
                                atol("image_a", "logits")));
  }
  {
    const std::vector<int64_t> ids = to_i64(goldens("goldens_audio.safetensors").require("audio_speech.input_ids"));
    const std::string cmd = test::gemma4_binary() + " logits --model " + model + " --mmproj " + mmproj + " --ids " +
                            ids_text(ids) + " --audio " + test::tiny_dir() + "/speech.wav --out " + out;
    ASSERT_EQ(test::run_command(cmd), 0) << cmd;
    EXPECT_TRUE(test::all_close(read_npy_f32(out).data,
                                to_f32(goldens("goldens_audio.safetensors").require("audio_speech.logits")),
                                atol("audio_speech", "logits")));
  }
}

// embed-image / embed-audio take --mmproj too (fast numerics: the packed bf16 GEMM, whose error
// the goldens' bf16-activation study bounds).
TEST(MmprojGguf, EmbedCommands) {
  const std::string model = tiny_file(false, "f32"), mmproj = tiny_file(true, "bf16");
  const std::string out = work_dir() + "/soft.npy";
  std::string cmd = test::gemma4_binary() + " embed-image --model " + model + " --mmproj " + mmproj + " --image " +
                    test::tiny_dir() + "/image_a.png --out " + out;
  ASSERT_EQ(test::run_command(cmd), 0) << cmd;
  EXPECT_LE(max_abs_diff(read_npy_f32(out).data, folder_image_soft_tokens()), study("image_a", "soft_tokens"));
  cmd = test::gemma4_binary() + " embed-audio --model " + model + " --mmproj " + mmproj + " --audio " +
        test::tiny_dir() + "/speech.wav --out " + out + " 2>/dev/null";
  ASSERT_EQ(test::run_command(cmd), 0) << cmd;
  EXPECT_LE(max_abs_diff(read_npy_f32(out).data, folder_audio_soft_tokens()), study("audio_speech", "soft_tokens"));
}

// `gemma4 run -m TEXT.gguf --mmproj MMPROJ.gguf` answers about an image and an audio clip; without
// --mmproj the media request is refused (unsupported, as for a model without the tower; HTTP 400
// in the server) with a message that says what to pass.
TEST(MmprojGguf, RunWithMedia) {
  const std::string model = tiny_file(false, "q8_0"), mmproj = tiny_file(true, "q8_0");
  const std::string run = test::gemma4_binary() + " run -m " + model + " -p hello --max-tokens 2 --temperature 0 --json ";
  std::string out;
  ASSERT_EQ(test::run_command(run + "--mmproj " + mmproj + " --image " + test::tiny_dir() + "/image_a.png --audio " +
                                  test::tiny_dir() + "/speech.wav 2>/dev/null",
                              &out),
            0)
      << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["stats"]["generated_tokens"].get<int>(), 2) << out;
  EXPECT_GT(j["stats"]["prompt_tokens"].get<int>(), 60 + 86) << out;  // the soft tokens are in the prompt
  EXPECT_EQ(test::run_command(run + "--image " + test::tiny_dir() + "/image_a.png 2>&1", &out), 5) << out;
  EXPECT_NE(out.find("--mmproj"), std::string::npos) << out;
}

TEST(MmprojGguf, BadFilesAreClearErrors) {
  const std::string model = tiny_file(false, "f32");
  const std::string base = test::gemma4_binary() + " embed-image --image " + test::tiny_dir() + "/image_a.png --out " +
                           work_dir() + "/x.npy ";
  std::string out;
  // A text GGUF given as the mmproj: not a clip file.
  EXPECT_EQ(test::run_command(base + "--model " + model + " --mmproj " + model + " 2>&1", &out), 5) << out;
  EXPECT_NE(out.find("not clip"), std::string::npos) << out;
  // Not a GGUF at all.
  EXPECT_EQ(test::run_command(base + "--model " + model + " --mmproj " + test::tiny_dir() + "/image_a.png 2>&1", &out), 4)
      << out;
  // Missing file.
  EXPECT_EQ(test::run_command(base + "--model " + model + " --mmproj " + work_dir() + "/none.gguf 2>&1", &out), 3) << out;
  // A truncated mmproj.
  const std::string truncated = work_dir() + "/truncated.gguf";
  {
    const std::string bytes = read_file(tiny_file(true, "f32"));
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  EXPECT_EQ(test::run_command(base + "--model " + model + " --mmproj " + truncated + " 2>&1", &out), 4) << out;
  // --mmproj with a model folder.
  EXPECT_EQ(test::run_command(base + "--model " + test::tiny_dir() + " --mmproj " + tiny_file(true, "f32") + " 2>&1", &out),
            2)
      << out;
  // A .gguf model without --mmproj.
  EXPECT_EQ(test::run_command(base + "--model " + model + " 2>&1", &out), 5) << out;
  EXPECT_NE(out.find("--mmproj"), std::string::npos) << out;

  // An mmproj of another model: its projectors' width is not the text model's hidden size.
  ModelConfig other = test::tiny_decoder()->model_config();
  other.text.hidden_size *= 2;
  try {
    open_mmproj(tiny_file(true, "f32"), other);
    ADD_FAILURE() << "a mismatched mmproj was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("another model"), std::string::npos) << e.what();
  }
}

}  // namespace gemma4
