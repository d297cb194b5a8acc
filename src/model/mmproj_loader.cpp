#include "model/mmproj_loader.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "base/error.h"
#include "io/hf_to_gguf.h"

namespace gemma4 {

namespace {

using json = nlohmann::json;

// What llama.cpp's gemma4v / gemma4a graphs hard-code (and Gemma 4's config.json says).
constexpr double kVisionRopeTheta = 100.0;
constexpr int64_t kDefaultImageBudget = 280;
constexpr int64_t kAudioContextLeft = 13, kAudioContextRight = 0;
constexpr double kAudioLogitCap = 50.0, kAudioResidualWeight = 0.5, kAudioGradientClipping = 1e10;
constexpr double kAudioRmsNormEps = 1e-6;  // the graph's value; llama.cpp's converter stores 1e-5, unread

// Keeps the mapped file and the tensors converted at load alive for the TensorStore.
struct Holder {
  std::shared_ptr<const GgufHfStore> gguf;
  std::vector<std::vector<float>> converted;
};

std::string extra(const std::string& key) { return kMmprojExtraPrefix + key; }

// The GGUF magic, checked here (not with model/gguf_loader's is_gguf_file) so the loader and
// its fuzz target need only the io layer.
bool starts_with_gguf_magic(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

const GgufTensor& require_tensor(const GgufFile& f, const std::string& name, size_t dims) {
  const GgufTensor* t = f.find_tensor(name);
  check(t != nullptr, f.path() + ": tensor " + name + " is missing", ExitCode::bad_input);
  check(t->ne.size() == dims, f.path() + ": tensor " + name + " has " + std::to_string(t->ne.size()) +
                                  " dimensions, expected " + std::to_string(dims),
        ExitCode::bad_input);
  return *t;
}

// The projector type of one modality: clip.<modality>.projector_type, or (older single-
// modality files) clip.projector_type.
std::string projector_type(const GgufFile& f, const std::string& modality) {
  const std::string specific = f.get_string("clip." + modality + ".projector_type", "");
  return specific.empty() ? f.get_string("clip.projector_type", "") : specific;
}

json vision_config(const GgufFile& f) {
  const std::string k = "clip.vision.";
  const std::string type = projector_type(f, "vision");
  check(type == "gemma4v", f.path() + ": vision projector '" + type + "' is not Gemma 4's (gemma4v)",
        ExitCode::unsupported);
  json v;
  v["model_type"] = "gemma4_vision";
  v["hidden_size"] = f.get_int(k + "embedding_length");
  v["intermediate_size"] = f.get_int(k + "feed_forward_length");
  v["num_hidden_layers"] = f.get_int(k + "block_count");
  v["num_attention_heads"] = f.get_int(k + "attention.head_count");
  v["rms_norm_eps"] = f.get_float(k + "attention.layer_norm_epsilon", 1e-6);
  v["patch_size"] = f.get_int(k + "patch_size");
  v["pooling_kernel_size"] = f.get_int(k + "projector.scale_factor", 3);
  v["rope_parameters"] = {{"rope_type", "default"}, {"rope_theta", f.get_float(extra("vision.rope_theta"), kVisionRopeTheta)}};
  // Sizes the metadata leaves out, from the tensors: head width (q_norm), KV heads (k rows),
  // the position table's rows per axis.
  const int64_t hidden = v["hidden_size"].get<int64_t>(), heads = v["num_attention_heads"].get<int64_t>();
  check(hidden > 0 && heads > 0, f.path() + ": clip.vision sizes must be positive", ExitCode::bad_input);
  const int64_t head_dim = require_tensor(f, "v.blk.0.attn_q_norm.weight", 1).ne[0];
  check(head_dim > 0, f.path() + ": v.blk.0.attn_q_norm.weight is empty", ExitCode::bad_input);
  v["head_dim"] = head_dim;
  const GgufTensor& k_proj = require_tensor(f, "v.blk.0.attn_k.weight", 2);
  check(k_proj.ne[1] % head_dim == 0, f.path() + ": v.blk.0.attn_k.weight rows are not whole heads", ExitCode::bad_input);
  v["num_key_value_heads"] = k_proj.ne[1] / head_dim;
  const GgufTensor& pos = require_tensor(f, "v.position_embd.weight", 3);
  check(pos.ne[2] == 2, f.path() + ": v.position_embd.weight must hold an x and a y table", ExitCode::bad_input);
  v["position_embedding_size"] = pos.ne[1];
  v["use_clipped_linears"] = f.find_tensor("v.blk.0.attn_q.input_min") != nullptr;
  v["standardize"] = f.find_tensor("v.std_bias") != nullptr;
  return v;
}

json audio_config(const GgufFile& f) {
  const std::string k = "clip.audio.";
  const std::string type = projector_type(f, "audio");
  check(type == "gemma4a", f.path() + ": audio projector '" + type + "' is not Gemma 4's (gemma4a)",
        ExitCode::unsupported);
  json a;
  a["model_type"] = "gemma4_audio";
  a["hidden_size"] = f.get_int(k + "embedding_length");
  a["num_hidden_layers"] = f.get_int(k + "block_count");
  a["num_attention_heads"] = f.get_int(k + "attention.head_count");
  a["hidden_act"] = "silu";
  // Subsampling convs: ne {3, 3, in, out}; the light conv's depthwise kernel: ne {K, hidden}.
  std::vector<int64_t> channels;
  for (int i = 0; i < 2; ++i) channels.push_back(require_tensor(f, "a.conv1d." + std::to_string(i) + ".weight", 4).ne[3]);
  a["subsampling_conv_channels"] = channels;
  a["conv_kernel_size"] = require_tensor(f, "a.blk.0.conv_dw.weight", 2).ne[0];
  a["output_proj_dims"] = require_tensor(f, "a.pre_encode.out.weight", 2).ne[1];
  a["use_clipped_linears"] = f.find_tensor("a.blk.0.attn_q.input_min") != nullptr;
  a["attention_context_left"] = f.get_int(extra("audio.attention_context_left"), kAudioContextLeft);
  a["attention_context_right"] = f.get_int(extra("audio.attention_context_right"), kAudioContextRight);
  a["attention_logit_cap"] = f.get_float(extra("audio.attention_logit_cap"), kAudioLogitCap);
  a["residual_weight"] = f.get_float(extra("audio.residual_weight"), kAudioResidualWeight);
  a["gradient_clipping"] = f.get_float(extra("audio.gradient_clipping"), kAudioGradientClipping);
  a["rms_norm_eps"] = f.get_float(extra("audio.rms_norm_eps"), kAudioRmsNormEps);
  return a;
}

// The projectors' output width: what the text model must take.
int64_t projection_dim(const GgufFile& f, bool vision, bool audio) {
  int64_t dim = -1;
  for (const char* modality : {"vision", "audio"}) {
    if ((std::string(modality) == "vision" && !vision) || (std::string(modality) == "audio" && !audio)) continue;
    const int64_t d = f.get_int(std::string("clip.") + modality + ".projection_dim");
    check(dim < 0 || d == dim, f.path() + ": the vision and audio projectors give different widths (" +
                                   std::to_string(dim) + " and " + std::to_string(d) + ")",
          ExitCode::bad_input);
    dim = d;
  }
  return dim;
}

bool float_type(GgmlType t, DType* d) {
  switch (t) {
    case GgmlType::f32: *d = DType::f32; return true;
    case GgmlType::f16: *d = DType::f16; return true;
    case GgmlType::bf16: *d = DType::bf16; return true;
    default: return false;
  }
}

// Every tensor under its Hugging Face name: mapped in place where the bytes already are what
// the towers read, else converted to float32 (see the header).
std::shared_ptr<const TensorStore> tensor_store(std::shared_ptr<const GgufHfStore> gguf) {
  const GgufFile& f = *gguf->mmproj();
  check(gguf->entries().size() == f.tensors().size(), [&] {
    std::string unknown;
    for (const GgufTensor& t : f.tensors())
      if (!gguf_to_hf_name(t.name, true)) unknown += (unknown.empty() ? "" : ", ") + t.name;
    return f.path() + ": tensors no Gemma 4 tower has: " + unknown;
  }(), ExitCode::unsupported);
  auto holder = std::make_shared<Holder>();
  holder->gguf = gguf;
  std::vector<TensorInfo> infos;
  for (const GgufHfStore::Entry& e : gguf->entries()) {
    TensorInfo t;
    t.name = e.hf_name;
    t.file = f.path();
    t.shape = e.shape;
    DType dtype;
    const bool same_bytes = e.layout == GgufLayout::same || e.layout == GgufLayout::scalar ||
                            e.layout == GgufLayout::depthwise;  // only the shape differs
    if (same_bytes && float_type(e.tensor->type, &dtype)) {
      t.dtype = dtype;
      t.data = e.tensor->data;
      t.nbytes = e.tensor->nbytes;
    } else {
      holder->converted.push_back(gguf->to_f32(e));
      const std::vector<float>& x = holder->converted.back();
      t.dtype = DType::f32;
      t.data = reinterpret_cast<const uint8_t*>(x.data());
      t.nbytes = x.size() * sizeof(float);
    }
    infos.push_back(std::move(t));
  }
  return std::make_shared<const TensorStore>(TensorStore::from_tensors(std::move(infos), holder, f.path()));
}

MmprojModel open_mmproj_file(const std::string& path, const ModelConfig* text) {
  check(std::filesystem::exists(path), "mmproj file not found: " + path, ExitCode::not_found);
  check(std::filesystem::is_regular_file(path) && starts_with_gguf_magic(path), path + ": not a GGUF file (--mmproj takes llama.cpp's mmproj .gguf)", ExitCode::bad_input);
  auto gguf = std::make_shared<const GgufHfStore>(GgufHfStore::open_mmproj(path));
  const GgufFile& f = *gguf->mmproj();
  MmprojModel m;
  m.path = path;
  const bool vision = f.get_bool("clip.has_vision_encoder", false);
  const bool audio = f.get_bool("clip.has_audio_encoder", false);
  check(vision || audio, path + ": the mmproj file has neither a vision nor an audio encoder", ExitCode::unsupported);
  const int64_t width = projection_dim(f, vision, audio);
  if (text)
    check(width == text->text.hidden_size,
          path + ": its projectors give " + std::to_string(width) + "-wide embeddings but the text model's hidden size is " +
              std::to_string(text->text.hidden_size) + ": the mmproj file belongs to another model",
          ExitCode::bad_input);
  m.config["text_config"] = {{"hidden_size", width}};
  if (vision) m.config["vision_config"] = vision_config(f);
  if (audio) m.config["audio_config"] = audio_config(f);
  if (text) {
    const std::pair<const char*, int64_t> ids[] = {
        {"image_token_id", text->image_token_id}, {"audio_token_id", text->audio_token_id},
        {"video_token_id", text->video_token_id}, {"boi_token_id", text->boi_token_id},
        {"eoi_token_id", text->eoi_token_id},     {"boa_token_id", text->boa_token_id},
        {"eoa_token_id", text->eoa_token_id}};
    for (const auto& [key, id] : ids)
      if (id >= 0) m.config[key] = id;
  }
  if (vision) {
    m.image_processor.patch_size = static_cast<int>(m.config["vision_config"]["patch_size"].get<int64_t>());
    m.image_processor.pooling_kernel_size =
        static_cast<int>(m.config["vision_config"]["pooling_kernel_size"].get<int64_t>());
    m.image_processor.max_soft_tokens = static_cast<int>(f.get_int(extra("vision.max_soft_tokens"), kDefaultImageBudget));
    check(m.image_processor.patch_size > 0 && m.image_processor.pooling_kernel_size > 0 &&
              m.image_processor.max_soft_tokens > 0,
          path + ": patch size, pooling and image budget must be positive", ExitCode::bad_input);
  }
  if (audio) {
    m.audio_features.num_mel_bins = static_cast<int>(f.get_int("clip.audio.num_mel_bins", 128));
    check(m.audio_features.num_mel_bins > 0 && m.audio_features.num_mel_bins <= 4096,
          path + ": clip.audio.num_mel_bins is out of range", ExitCode::bad_input);
  }
  m.store = tensor_store(gguf);
  return m;
}

}  // namespace

bool MmprojModel::has_vision() const { return config.contains("vision_config"); }
bool MmprojModel::has_audio() const { return config.contains("audio_config"); }

MmprojModel open_mmproj(const std::string& path, const ModelConfig& text) { return open_mmproj_file(path, &text); }
MmprojModel open_mmproj(const std::string& path) { return open_mmproj_file(path, nullptr); }

}  // namespace gemma4
