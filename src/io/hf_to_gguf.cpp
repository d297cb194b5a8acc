#include "io/hf_to_gguf.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <nlohmann/json.hpp>

#include "base/error.h"
#include "base/mapped_file.h"
#include "io/safetensors.h"
#include "tensor/dtype.h"

namespace gemma4 {

namespace {

using json = nlohmann::json;

// ---- names ----------------------------------------------------------------------------

// One naming rule; '#' stands for a layer number in both patterns.
struct Rule {
  std::string hf;
  std::string gguf;
  GgufLayout layout;
  bool mmproj;
};

void add_linear(std::vector<Rule>& rules, const std::string& hf, const std::string& gguf, bool mmproj,
                bool clipped) {
  if (!clipped) {
    rules.push_back({hf + ".weight", gguf + ".weight", GgufLayout::same, mmproj});
    return;
  }
  // Clipped linears: "<name>.linear.weight" plus four 0-dim bounds; GGUF drops ".linear".
  rules.push_back({hf + ".linear.weight", gguf + ".weight", GgufLayout::same, mmproj});
  for (const char* bound : {".input_min", ".input_max", ".output_min", ".output_max"})
    rules.push_back({hf + bound, gguf + bound, GgufLayout::scalar, mmproj});
}

std::vector<Rule> build_rules() {
  std::vector<Rule> r;
  const std::string t = "model.language_model.";
  auto text = [&](const std::string& hf, const std::string& gguf, GgufLayout layout = GgufLayout::same) {
    r.push_back({t + hf, gguf, layout, false});
  };
  text("embed_tokens.weight", "token_embd.weight");
  text("embed_tokens_per_layer.weight", "per_layer_token_embd.weight");
  text("per_layer_model_projection.weight", "per_layer_model_proj.weight");
  text("per_layer_projection_norm.weight", "per_layer_proj_norm.weight");
  text("norm.weight", "output_norm.weight");
  const std::pair<const char*, const char*> layer[] = {
      {"input_layernorm", "attn_norm"},
      {"self_attn.q_proj", "attn_q"},
      {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_output"},
      {"self_attn.q_norm", "attn_q_norm"},
      {"self_attn.k_norm", "attn_k_norm"},
      {"post_attention_layernorm", "post_attention_norm"},
      {"pre_feedforward_layernorm", "ffn_norm"},
      {"mlp.gate_proj", "ffn_gate"},
      {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
      {"post_feedforward_layernorm", "post_ffw_norm"},
      {"per_layer_input_gate", "inp_gate"},
      {"per_layer_projection", "proj"},
      {"post_per_layer_input_norm", "post_norm"},
  };
  for (const auto& [hf, gguf] : layer)
    text(std::string("layers.#.") + hf + ".weight", std::string("blk.#.") + gguf + ".weight");
  // The converter appends ".weight" to the 1-element layer scalar.
  text("layers.#.layer_scalar", "blk.#.layer_output_scale.weight");

  // Vision tower (mmproj, prefix v.).
  const std::string v = "model.vision_tower.";
  r.push_back({v + "patch_embedder.input_proj.weight", "v.patch_embd.weight", GgufLayout::patch_embd, true});
  r.push_back({v + "patch_embedder.position_embedding_table", "v.position_embd.weight", GgufLayout::same, true});
  const std::string vl = v + "encoder.layers.#.";
  const std::pair<const char*, const char*> vnorms[] = {
      {"input_layernorm", "ln1"},       {"self_attn.q_norm", "attn_q_norm"},
      {"self_attn.k_norm", "attn_k_norm"}, {"post_attention_layernorm", "attn_post_norm"},
      {"pre_feedforward_layernorm", "ln2"}, {"post_feedforward_layernorm", "ffn_post_norm"},
  };
  for (const auto& [hf, gguf] : vnorms)
    r.push_back({vl + hf + ".weight", std::string("v.blk.#.") + gguf + ".weight", GgufLayout::same, true});
  const std::pair<const char*, const char*> vlin[] = {
      {"self_attn.q_proj", "attn_q"}, {"self_attn.k_proj", "attn_k"}, {"self_attn.v_proj", "attn_v"},
      {"self_attn.o_proj", "attn_out"}, {"mlp.gate_proj", "ffn_gate"}, {"mlp.up_proj", "ffn_up"},
      {"mlp.down_proj", "ffn_down"},
  };
  for (const auto& [hf, gguf] : vlin) add_linear(r, vl + hf, std::string("v.blk.#.") + gguf, true, true);
  r.push_back({vl + "layer_scalar", "v.blk.#.out_scale.weight", GgufLayout::same, true});
  r.push_back({v + "std_bias", "v.std_bias", GgufLayout::same, true});
  r.push_back({v + "std_scale", "v.std_scale", GgufLayout::same, true});
  r.push_back({"model.embed_vision.embedding_projection.weight", "mm.input_projection.weight", GgufLayout::same, true});

  // Audio tower (mmproj, prefix a.).
  const std::string a = "model.audio_tower.";
  for (int k = 0; k < 2; ++k) {
    const std::string hf = a + "subsample_conv_projection.layer" + std::to_string(k) + ".";
    const std::string gg = "a.conv1d." + std::to_string(k) + ".";
    r.push_back({hf + "conv.weight", gg + "weight", GgufLayout::same, true});
    r.push_back({hf + "norm.weight", gg + "norm.weight", GgufLayout::same, true});
  }
  r.push_back({a + "subsample_conv_projection.input_proj_linear.weight", "a.input_projection.weight", GgufLayout::same, true});
  const std::string al = a + "layers.#.";
  const std::pair<const char*, const char*> anorms[] = {
      {"feed_forward1.pre_layer_norm", "ffn_norm"},   {"feed_forward1.post_layer_norm", "ffn_post_norm"},
      {"feed_forward2.pre_layer_norm", "ffn_norm_1"}, {"feed_forward2.post_layer_norm", "ffn_post_norm_1"},
      {"norm_pre_attn", "attn_pre_norm"},             {"norm_post_attn", "attn_post_norm"},
      {"norm_out", "ln2"},
      // llama.cpp's names are swapped relative to their roles (audio.md §5.2).
      {"lconv1d.pre_layer_norm", "conv_norm"},        {"lconv1d.conv_norm", "norm_conv"},
      {"self_attn.relative_k_proj", "attn_k_rel"},
  };
  for (const auto& [hf, gguf] : anorms)
    r.push_back({al + hf + ".weight", std::string("a.blk.#.") + gguf + ".weight", GgufLayout::same, true});
  const std::pair<const char*, const char*> alin[] = {
      {"feed_forward1.ffw_layer_1", "ffn_up"},   {"feed_forward1.ffw_layer_2", "ffn_down"},
      {"feed_forward2.ffw_layer_1", "ffn_up_1"}, {"feed_forward2.ffw_layer_2", "ffn_down_1"},
      {"self_attn.q_proj", "attn_q"},            {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},            {"self_attn.post", "attn_out"},
      {"lconv1d.linear_start", "conv_pw1"},      {"lconv1d.linear_end", "conv_pw2"},
  };
  for (const auto& [hf, gguf] : alin) add_linear(r, al + hf, std::string("a.blk.#.") + gguf, true, true);
  r.push_back({al + "self_attn.per_dim_scale", "a.blk.#.per_dim_scale.weight", GgufLayout::softplus, true});
  r.push_back({al + "lconv1d.depthwise_conv1d.weight", "a.blk.#.conv_dw.weight", GgufLayout::depthwise, true});
  r.push_back({a + "output_proj.weight", "a.pre_encode.out.weight", GgufLayout::same, true});
  r.push_back({a + "output_proj.bias", "a.pre_encode.out.bias", GgufLayout::same, true});
  r.push_back({"model.embed_audio.embedding_projection.weight", "mm.a.input_projection.weight", GgufLayout::same, true});
  return r;
}

const std::vector<Rule>& rules() {
  static const std::vector<Rule> r = build_rules();
  return r;
}

// Matches `name` against a pattern with at most one '#' (a decimal layer number).
std::optional<std::string> match(const std::string& pattern, const std::string& name) {
  const size_t hash = pattern.find('#');
  if (hash == std::string::npos) return pattern == name ? std::optional<std::string>("") : std::nullopt;
  const std::string prefix = pattern.substr(0, hash), suffix = pattern.substr(hash + 1);
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  for (char c : digits)
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
  return digits;
}

std::string fill(const std::string& pattern, const std::string& number) {
  const size_t hash = pattern.find('#');
  return hash == std::string::npos ? pattern : pattern.substr(0, hash) + number + pattern.substr(hash + 1);
}

// ---- layouts --------------------------------------------------------------------------

// HF values (PyTorch order) -> GGUF values; returns the GGUF ne. An empty `x` computes the
// shape only.
std::vector<int64_t> to_gguf_layout(GgufLayout layout, const std::vector<int64_t>& hf_shape, std::vector<float>& x) {
  std::vector<int64_t> torch = hf_shape;
  switch (layout) {
    case GgufLayout::same: break;
    case GgufLayout::scalar: torch = {1}; break;
    case GgufLayout::softplus:
      for (float& v : x) v = v > 20.f ? v : std::log1p(std::exp(v));  // torch softplus threshold 20
      break;
    case GgufLayout::depthwise:
      check(hf_shape.size() == 3 && hf_shape[1] == 1, "depthwise conv weight must be [C, 1, K]");
      torch = {hf_shape[0], hf_shape[2]};
      break;
    case GgufLayout::patch_embd: {
      check(hf_shape.size() == 2 && hf_shape[1] % 3 == 0, "patch embedding must be [n, p*p*3]");
      const int64_t n = hf_shape[0], p = std::llround(std::sqrt(hf_shape[1] / 3.0));
      check(p * p * 3 == hf_shape[1], "patch embedding columns are not p*p*3");
      // [n, row, col, ch] -> [n, ch, row, col]: the conv kernel layout llama.cpp uses.
      if (x.empty()) {
        torch = {n, 3, p, p};
        break;
      }
      std::vector<float> y(x.size());
      for (int64_t o = 0; o < n; ++o)
        for (int64_t r = 0; r < p; ++r)
          for (int64_t c = 0; c < p; ++c)
            for (int64_t ch = 0; ch < 3; ++ch)
              y[((o * 3 + ch) * p + r) * p + c] = x[((o * p + r) * p + c) * 3 + ch];
      x = std::move(y);
      torch = {n, 3, p, p};
      break;
    }
  }
  return {torch.rbegin(), torch.rend()};
}

// GGUF values -> HF values; `ne` is the GGUF shape. Returns the HF (PyTorch) shape.
std::vector<int64_t> to_hf_layout(GgufLayout layout, const std::vector<int64_t>& ne, std::vector<float>* x) {
  std::vector<int64_t> torch(ne.rbegin(), ne.rend());
  switch (layout) {
    case GgufLayout::same: return torch;
    case GgufLayout::scalar: return {};
    case GgufLayout::softplus:
      // Inverse of softplus: log(expm1(y)); y > 0 always holds for a softplus output.
      if (x)
        for (float& v : *x) v = v > 20.f ? v : static_cast<float>(std::log(std::expm1(static_cast<double>(v))));
      return torch;
    case GgufLayout::depthwise:
      check(torch.size() == 2, "conv_dw must be 2-D");
      return {torch[0], 1, torch[1]};
    case GgufLayout::patch_embd: {
      check(torch.size() == 4 && torch[1] == 3 && torch[2] == torch[3], "v.patch_embd must be ne {p, p, 3, n}");
      const int64_t n = torch[0], p = torch[2];
      if (x) {
        std::vector<float> y(x->size());
        for (int64_t o = 0; o < n; ++o)
          for (int64_t r = 0; r < p; ++r)
            for (int64_t c = 0; c < p; ++c)
              for (int64_t ch = 0; ch < 3; ++ch)
                y[((o * p + r) * p + c) * 3 + ch] = (*x)[((o * 3 + ch) * p + r) * p + c];
        *x = std::move(y);
      }
      return {n, p * p * 3};
    }
  }
  return torch;
}

// ---- config ---------------------------------------------------------------------------

json read_json(const std::string& path) {
  try {
    return json::parse(read_file(path));
  } catch (const json::exception& e) {
    throw Error(path + ": invalid JSON: " + e.what(), ExitCode::bad_input);
  }
}

template <typename T>
T get(const json& j, const std::string& key, const std::string& where) {
  if (!j.contains(key) || j[key].is_null())
    throw Error("config.json: " + where + "." + key + " is missing", ExitCode::bad_input);
  try {
    return j[key].get<T>();
  } catch (const json::exception&) {
    throw Error("config.json: " + where + "." + key + " has the wrong type", ExitCode::bad_input);
  }
}

template <typename T>
T get_or(const json& j, const std::string& key, T fallback) {
  return j.contains(key) && !j[key].is_null() ? j[key].get<T>() : fallback;
}

// ---- tensor types ---------------------------------------------------------------------

// The type a tensor is stored in: 1-D tensors and a few precision-critical ones stay F32 (as
// llama.cpp's converter does); rows that are not whole blocks fall back to a wider type.
GgmlType choose_type(GgmlType wanted, const std::string& gguf_name, const std::vector<int64_t>& ne, bool* fallback) {
  *fallback = false;
  const bool force_f32 = ne.size() == 1 || gguf_name == "v.position_embd.weight" ||
                         gguf_name.rfind("a.conv1d.", 0) == 0 || gguf_name.find(".conv_dw.") != std::string::npos ||
                         gguf_name == "a.input_projection.weight";
  if (force_f32) return GgmlType::f32;
  for (GgmlType t : {wanted, GgmlType::q8_0, GgmlType::f16}) {
    if (t == GgmlType::q8_0 && (wanted == GgmlType::f16 || wanted == GgmlType::bf16 || wanted == GgmlType::f32)) continue;
    if (ne[0] % ggml_block_elems(t) == 0) return t;
    *fallback = true;
  }
  return GgmlType::f16;
}

struct Converted {
  GgufConvertReport report;
};

// Adds every tensor of `store` that belongs to this file (text or mmproj).
// The layer number of a decoder tensor ("blk.N."), or -1.
int64_t text_layer_of(const std::string& gguf_name) {
  if (gguf_name.rfind("blk.", 0) != 0) return -1;
  return std::stoll(gguf_name.substr(4, gguf_name.find('.', 4) - 4));
}

// With keep_layers, the per-layer embedding tables keep the first keep_layers * P of their
// L * P per-layer columns (embed_tokens_per_layer) or rows (per_layer_model_projection).
std::vector<int64_t> keep_first_layers(const std::string& gguf_name, std::vector<int64_t> shape, int64_t n_layers,
                                       int64_t keep_layers, std::vector<float>* x) {
  if (keep_layers <= 0 || keep_layers >= n_layers) return shape;
  if (gguf_name == "per_layer_token_embd.weight") {
    const int64_t rows = shape[0], cols = shape[1], keep = cols / n_layers * keep_layers;
    if (x) {
      std::vector<float> y(static_cast<size_t>(rows * keep));
      for (int64_t r = 0; r < rows; ++r)
        std::copy_n(x->begin() + r * cols, keep, y.begin() + r * keep);
      *x = std::move(y);
    }
    shape[1] = keep;
  } else if (gguf_name == "per_layer_model_proj.weight") {
    shape[0] = shape[0] / n_layers * keep_layers;
    if (x) x->resize(static_cast<size_t>(shape[0] * shape[1]));
  }
  return shape;
}

// Source rows [r0, r1) of a 2-D (or 1-D) float tensor as float32, keeping the first `cols`
// of each row.
void rows_to_f32(const TensorInfo& t, int64_t r0, int64_t r1, int64_t cols, std::vector<float>& out) {
  const int64_t row_len = t.shape.empty() ? 1 : t.numel() / t.shape[0];
  const size_t es = dtype_size(t.dtype);
  out.resize(static_cast<size_t>((r1 - r0) * cols));
  for (int64_t r = r0; r < r1; ++r)
    for (int64_t c = 0; c < cols; ++c) {
      const uint8_t* p = t.data + (r * row_len + c) * static_cast<int64_t>(es);
      float v;
      if (t.dtype == DType::f32) {
        std::memcpy(&v, p, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, p, 2);
        check(t.dtype == DType::bf16 || t.dtype == DType::f16, t.name + ": weights must be f32, f16 or bf16");
        v = t.dtype == DType::bf16 ? bf16_to_f32(h) : f16_to_f32(h);
      }
      out[static_cast<size_t>((r - r0) * cols + c)] = v;
    }
}

// Streams a tensor stored as is (PyTorch layout = GGML layout) a few rows at a time.
void emit_rows(const TensorInfo& src, const std::string& gguf_name, int64_t n_layers, int64_t keep_layers, GgmlType t,
               const GgufWriter::Emit& emit) {
  const auto shape = keep_first_layers(gguf_name, src.shape, n_layers, keep_layers, nullptr);
  const int64_t rows = shape.size() <= 1 ? 1 : shape[0];
  int64_t cols = 1;
  for (size_t d = shape.size() <= 1 ? 0 : 1; d < shape.size(); ++d) cols *= shape[d];
  const int64_t chunk = std::max<int64_t>(1, (1 << 20) / std::max<int64_t>(cols, 1));
  std::vector<float> x;
  for (int64_t r0 = 0; r0 < rows; r0 += chunk) {
    const int64_t r1 = std::min(rows, r0 + chunk);
    rows_to_f32(src, r0, r1, cols, x);
    const auto bytes = quantize_ggml(t, x.data(), static_cast<int64_t>(x.size()));
    emit(bytes.data(), bytes.size());
  }
}

// K, V and k_norm of KV-shared layers are never used (those layers read a donor's cache). Google's
// original checkpoints store them, re-saved ones do not (text_decoder.md §2.1); GGUFs omit them.
bool unused_shared_kv(const std::string& gguf_name, int64_t first_shared_layer) {
  const int64_t layer = text_layer_of(gguf_name);
  if (layer < 0 || layer < first_shared_layer) return false;
  for (const char* suffix : {".attn_k.weight", ".attn_v.weight", ".attn_k_norm.weight"})
    if (gguf_name.size() > std::strlen(suffix) &&
        gguf_name.compare(gguf_name.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
      return true;
  return false;
}

void add_tensors(GgufWriter& w, const TensorStore& store, GgmlType type, bool mmproj, GgufConvertReport& report,
                 bool verbose, int64_t n_layers = 0, int64_t keep_layers = 0,
                 int64_t first_shared_layer = std::numeric_limits<int64_t>::max()) {
  for (const auto& [name, info] : store.tensors()) {
    if (name == "lm_head.weight") continue;  // tied to token_embd (llama.cpp reuses it)
    const auto mapped = hf_to_gguf_name(name);
    if (!mapped) throw Error("no GGUF name for tensor '" + name + "'", ExitCode::unsupported);
    if (mapped->mmproj != mmproj) continue;
    if (keep_layers > 0 && text_layer_of(mapped->name) >= keep_layers) continue;
    if (unused_shared_kv(mapped->name, first_shared_layer)) continue;
    const std::string gguf_name = mapped->name;
    const std::vector<int64_t> hf_shape = keep_first_layers(gguf_name, info.shape, n_layers, keep_layers, nullptr);
    std::vector<float> probe;  // layout only: the shape does not depend on the values
    const std::vector<int64_t> ne = to_gguf_layout(mapped->layout, hf_shape, probe);
    bool fallback = false;
    const GgmlType t = choose_type(type, mapped->name, ne, &fallback);
    report.fallback_tensors += fallback;
    ++report.tensors;
    if (verbose)
      std::fprintf(stderr, "%-60s -> %-40s %s\n", name.c_str(), mapped->name.c_str(), ggml_type_name(t).c_str());
    const TensorInfo* src = &info;
    const GgufLayout layout = mapped->layout;
    w.add_tensor(gguf_name, t, ne, [src, layout, t, gguf_name, n_layers, keep_layers](const GgufWriter::Emit& emit) {
      if (layout == GgufLayout::same) return emit_rows(*src, gguf_name, n_layers, keep_layers, t, emit);
      std::vector<float> x = to_f32(*src);  // small tensors with a layout change: all at once
      const auto shape = to_gguf_layout(layout, src->shape, x);
      int64_t n = 1;
      for (int64_t d : shape) n *= d;
      const auto bytes = quantize_ggml(t, x.data(), n);
      emit(bytes.data(), bytes.size());
    });
  }
}

void set_general(GgufWriter& w, const std::string& arch, const std::string& model_dir, GgmlType type) {
  w.set("general.architecture", GgufValue::str(arch));
  std::string name = model_dir;
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  name = name.substr(name.find_last_of('/') + 1);
  w.set("general.name", GgufValue::str(name));
  w.set("general.file_type", GgufValue::u32(llama_ftype_for(type)));
  w.set("general.quantization_version", GgufValue::u32(2));
}

// ---- tokenizer ------------------------------------------------------------------------

// GGUF token types (llama_token_type).
enum TokenType : int { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  std::vector<std::string> merges;
  int64_t bos = 2, eos = 1, unk = 3, pad = 0;
};

int64_t first_id(const json& v, int64_t fallback) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_array() && !v.empty() && v[0].is_number_integer()) return v[0].get<int64_t>();
  return fallback;
}

// From a Hugging Face tokenizer.json (BPE model + added tokens), as llama.cpp's converter does.
Vocab vocab_from_tokenizer_json(const std::string& path, int64_t n_vocab) {
  const json tj = read_json(path);
  Vocab v;
  v.tokens.assign(static_cast<size_t>(n_vocab), "");
  v.types.assign(static_cast<size_t>(n_vocab), kNormal);
  check(tj.contains("model") && tj["model"].contains("vocab") && tj["model"]["vocab"].is_object(),
        path + ": no model.vocab");
  for (const auto& [piece, id] : tj["model"]["vocab"].items()) {
    const int64_t i = id.get<int64_t>();
    if (i < 0 || i >= n_vocab) continue;
    v.tokens[static_cast<size_t>(i)] = piece;
    if (piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece.back() == '>') v.types[static_cast<size_t>(i)] = kByte;
  }
  static const std::set<std::string> visible = {"<|channel>", "<channel|>", "<|tool_call>", "<tool_call|>",
                                                "<|tool_response>", "<tool_response|>", "<|\"|>"};
  for (const auto& at : tj.value("added_tokens", json::array())) {
    const int64_t i = at.value("id", int64_t{-1});
    if (i < 0 || i >= n_vocab) continue;
    const std::string content = at.value("content", std::string());
    v.tokens[static_cast<size_t>(i)] = content;
    if (visible.count(content)) v.types[static_cast<size_t>(i)] = kUserDefined;
    else if (at.value("special", false)) v.types[static_cast<size_t>(i)] = kControl;
    else v.types[static_cast<size_t>(i)] = kUserDefined;
    if (content == "<unk>") v.unk = i;
  }
  for (size_t i = 0; i < v.tokens.size(); ++i)
    if (v.tokens[i].empty()) {
      v.tokens[i] = "<unused_gguf_" + std::to_string(i) + ">";
      v.types[i] = kUnused;
    }
  for (const auto& m : tj["model"].value("merges", json::array())) {
    if (m.is_string()) v.merges.push_back(m.get<std::string>());
    else if (m.is_array() && m.size() == 2) v.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  return v;
}

// A synthetic vocabulary for checkpoints without a tokenizer (the tiny goldens model): llama.cpp
// needs one to load the file. Gemma's special tokens sit at their ids (from config.json); bytes
// <0x00>..<0xFF> give every string a tokenization; a few letters and merges make BPE non-empty.
Vocab synthetic_vocab(const json& config, int64_t n_vocab) {
  Vocab v;
  v.tokens.assign(static_cast<size_t>(n_vocab), "");
  v.types.assign(static_cast<size_t>(n_vocab), kNormal);
  auto set = [&](int64_t id, const std::string& text, int type) {
    if (id >= 0 && id < n_vocab && v.tokens[static_cast<size_t>(id)].empty()) {
      v.tokens[static_cast<size_t>(id)] = text;
      v.types[static_cast<size_t>(id)] = type;
    }
  };
  const json& tc = config.contains("text_config") ? config["text_config"] : config;
  v.pad = first_id(tc.value("pad_token_id", json()), 0);
  v.eos = first_id(tc.value("eos_token_id", json()), 1);
  v.bos = first_id(tc.value("bos_token_id", json()), 2);
  set(v.pad, "<pad>", kControl);
  set(v.eos, "<eos>", kControl);
  set(v.bos, "<bos>", kControl);
  set(v.unk, "<unk>", kUnknown);
  set(4, "<mask>", kControl);
  // Other end-of-generation ids of config.json (Gemma 4: 106 = "<turn|>").
  for (const auto& e : config.value("eos_token_id", json::array()))
    if (e.is_number_integer() && e.get<int64_t>() != v.eos) set(e.get<int64_t>(), "<turn|>", kControl);
  set(105, "<|turn>", kControl);
  const std::pair<const char*, const char*> media[] = {
      {"boi_token_id", "<|image>"}, {"eoi_token_id", "<image|>"}, {"image_token_id", "<|image|>"},
      {"boa_token_id", "<|audio>"}, {"eoa_token_id", "<audio|>"}, {"audio_token_id", "<|audio|>"},
      {"video_token_id", "<|video|>"},
  };
  for (const auto& [key, text] : media) set(first_id(config.value(key, json()), -1), text, kControl);
  char buf[8];
  int64_t next = 0;
  auto place = [&](const std::string& text, int type) {
    while (next < n_vocab && !v.tokens[static_cast<size_t>(next)].empty()) ++next;
    set(next, text, type);
  };
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    place(buf, kByte);
  }
  place("\xe2\x96\x81", kNormal);  // "▁", the space symbol
  for (char c = 'a'; c <= 'z'; ++c) place(std::string(1, c), kNormal);
  for (char c = 'a'; c <= 'z'; ++c) {
    place("\xe2\x96\x81" + std::string(1, c), kNormal);
    v.merges.push_back("\xe2\x96\x81 " + std::string(1, c));
  }
  for (int64_t i = 0; i < n_vocab; ++i)
    if (v.tokens[static_cast<size_t>(i)].empty()) set(i, "<unused" + std::to_string(i) + ">", kUnused);
  return v;
}

std::string find_chat_template(const std::string& dir) {
  if (file_exists(dir + "/chat_template.jinja")) return read_file(dir + "/chat_template.jinja");
  if (file_exists(dir + "/tokenizer_config.json")) {
    const json tc = read_json(dir + "/tokenizer_config.json");
    if (tc.contains("chat_template") && tc["chat_template"].is_string()) return tc["chat_template"].get<std::string>();
  }
  return "";
}

void set_tokenizer(GgufWriter& w, const std::string& model_dir, const std::string& tokenizer_dir, const json& config,
                   int64_t n_vocab, GgufConvertReport& report) {
  const std::string dir = tokenizer_dir.empty() ? model_dir : tokenizer_dir;
  Vocab v;
  if (file_exists(dir + "/tokenizer.json")) {
    v = vocab_from_tokenizer_json(dir + "/tokenizer.json", n_vocab);
    const json& tc = config.contains("text_config") ? config["text_config"] : config;
    v.bos = first_id(tc.value("bos_token_id", json()), v.bos);
    v.eos = first_id(tc.value("eos_token_id", json()), v.eos);
    v.pad = first_id(tc.value("pad_token_id", json()), v.pad);
  } else {
    check(tokenizer_dir.empty(), tokenizer_dir + ": no tokenizer.json", ExitCode::not_found);
    v = synthetic_vocab(config, n_vocab);
    report.synthetic_tokenizer = true;
  }
  w.set("tokenizer.ggml.model", GgufValue::str("gemma4"));
  w.set("tokenizer.ggml.pre", GgufValue::str("gemma4"));
  std::vector<double> scores(v.tokens.size(), 0.0);
  for (size_t i = 0; i < scores.size(); ++i)
    if (v.types[i] == kControl) scores[i] = -1000.0;
  w.set("tokenizer.ggml.tokens", GgufValue::array_str(v.tokens));
  w.set("tokenizer.ggml.scores", GgufValue::array_f32(std::move(scores)));
  w.set("tokenizer.ggml.token_type", GgufValue::array_i32(v.types));
  w.set("tokenizer.ggml.merges", GgufValue::array_str(v.merges));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(static_cast<uint32_t>(v.bos)));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(static_cast<uint32_t>(v.eos)));
  w.set("tokenizer.ggml.unknown_token_id", GgufValue::u32(static_cast<uint32_t>(v.unk)));
  w.set("tokenizer.ggml.padding_token_id", GgufValue::u32(static_cast<uint32_t>(v.pad)));
  w.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(true));
  w.set("tokenizer.ggml.add_eos_token", GgufValue::boolean(false));
  w.set("tokenizer.ggml.add_space_prefix", GgufValue::boolean(false));
  const std::string tmpl = find_chat_template(dir);
  if (!tmpl.empty()) {
    w.set("tokenizer.chat_template", GgufValue::str(tmpl));
    report.chat_template = true;
  }
}

// ---- text metadata --------------------------------------------------------------------

void set_text_metadata(GgufWriter& w, const json& tc) {
  const std::string k = "gemma4.";
  const auto n_layer = get<int64_t>(tc, "num_hidden_layers", "text_config");
  const auto layer_types = get<std::vector<std::string>>(tc, "layer_types", "text_config");
  check(static_cast<int64_t>(layer_types.size()) == n_layer, "config.json: layer_types has the wrong length");
  const auto n_shared = get_or<int64_t>(tc, "num_kv_shared_layers", 0);
  w.set(k + "context_length", GgufValue::u32(static_cast<uint32_t>(get<int64_t>(tc, "max_position_embeddings", "text_config"))));
  w.set(k + "embedding_length", GgufValue::u32(static_cast<uint32_t>(get<int64_t>(tc, "hidden_size", "text_config"))));
  w.set(k + "block_count", GgufValue::u32(static_cast<uint32_t>(n_layer)));
  const auto n_ff = get<int64_t>(tc, "intermediate_size", "text_config");
  if (get_or<bool>(tc, "use_double_wide_mlp", false)) {
    // KV-shared layers have a double-wide MLP; llama.cpp reads the per-layer array.
    std::vector<int64_t> ff;
    for (int64_t il = 0; il < n_layer; ++il) ff.push_back(il < n_layer - n_shared ? n_ff : 2 * n_ff);
    w.set(k + "feed_forward_length", GgufValue::array_i32(ff));
  } else {
    w.set(k + "feed_forward_length", GgufValue::u32(static_cast<uint32_t>(n_ff)));
  }
  w.set(k + "attention.head_count", GgufValue::u32(static_cast<uint32_t>(get<int64_t>(tc, "num_attention_heads", "text_config"))));
  const auto n_kv = get<int64_t>(tc, "num_key_value_heads", "text_config");
  std::vector<bool> swa;
  for (const auto& t : layer_types) swa.push_back(t == "sliding_attention");
  if (tc.contains("num_global_key_value_heads") && !tc["num_global_key_value_heads"].is_null()) {
    const auto n_kv_full = tc["num_global_key_value_heads"].get<int64_t>();
    std::vector<int64_t> kv;
    for (bool s : swa) kv.push_back(s ? n_kv : n_kv_full);
    w.set(k + "attention.head_count_kv", GgufValue::array_i32(kv));
  } else {
    w.set(k + "attention.head_count_kv", GgufValue::u32(static_cast<uint32_t>(n_kv)));
  }
  w.set(k + "attention.layer_norm_rms_epsilon", GgufValue::f32(get_or<float>(tc, "rms_norm_eps", 1e-6f)));
  const auto hd_swa = get<int64_t>(tc, "head_dim", "text_config");
  const auto hd_full = get_or<int64_t>(tc, "global_head_dim", hd_swa);
  w.set(k + "attention.key_length", GgufValue::u32(static_cast<uint32_t>(hd_full)));
  w.set(k + "attention.value_length", GgufValue::u32(static_cast<uint32_t>(hd_full)));
  w.set(k + "attention.key_length_swa", GgufValue::u32(static_cast<uint32_t>(hd_swa)));
  w.set(k + "attention.value_length_swa", GgufValue::u32(static_cast<uint32_t>(hd_swa)));
  const json rope = tc.value("rope_parameters", json::object());
  const json rope_full = rope.value("full_attention", json::object());
  const json rope_swa = rope.value("sliding_attention", json::object());
  w.set(k + "rope.freq_base", GgufValue::f32(get_or<float>(rope_full, "rope_theta", 1e6f)));
  w.set(k + "rope.freq_base_swa", GgufValue::f32(get_or<float>(rope_swa, "rope_theta", 1e4f)));
  // Full layers rotate all head dims; rope_freqs turns the proportional part off (see below).
  w.set(k + "rope.dimension_count", GgufValue::u32(static_cast<uint32_t>(hd_full)));
  w.set(k + "rope.dimension_count_swa",
        GgufValue::u32(static_cast<uint32_t>(hd_swa * get_or<double>(rope_swa, "partial_rotary_factor", 1.0))));
  w.set(k + "attention.sliding_window", GgufValue::u32(static_cast<uint32_t>(get<int64_t>(tc, "sliding_window", "text_config"))));
  w.set(k + "attention.sliding_window_pattern", GgufValue::array_bool(swa));
  w.set(k + "attention.shared_kv_layers", GgufValue::u32(static_cast<uint32_t>(n_shared)));
  w.set(k + "embedding_length_per_layer_input",
        GgufValue::u32(static_cast<uint32_t>(get_or<int64_t>(tc, "hidden_size_per_layer_input", 0))));
  if (tc.contains("final_logit_softcapping") && !tc["final_logit_softcapping"].is_null())
    w.set(k + "final_logit_softcapping", GgufValue::f32(tc["final_logit_softcapping"].get<float>()));
}

// rope_freqs.weight: llama.cpp's NEOX rope rotates pairs (i, i + d/2) for i < n_rot/2; Gemma 4's
// proportional RoPE rotates only the first partial_rotary_factor of the pairs. A frequency
// factor of 1e30 divides the angle to ~0 for the other pairs, so they pass through unrotated.
std::vector<float> proportional_rope_freqs(const json& tc) {
  const json full = tc.value("rope_parameters", json::object()).value("full_attention", json::object());
  const auto hd_full = get_or<int64_t>(tc, "global_head_dim", get<int64_t>(tc, "head_dim", "text_config"));
  const double factor = get_or<double>(full, "partial_rotary_factor", 1.0);
  const int64_t n_rot = static_cast<int64_t>(hd_full * factor / 2);
  std::vector<float> f(static_cast<size_t>(hd_full / 2), 1e30f);
  for (int64_t i = 0; i < n_rot; ++i) f[static_cast<size_t>(i)] = 1.f;
  return f;
}

// processor_config.json's image budget (Gemma 4's default 280 when the folder has none).
int64_t processor_max_soft_tokens(const std::string& model_dir) {
  const std::string path = model_dir + "/processor_config.json";
  if (!file_exists(path)) return 280;
  const json p = read_json(path);
  const json& ip = p.contains("image_processor") ? p["image_processor"] : p;
  return get_or<int64_t>(ip, "max_soft_tokens", 280);
}

const json& text_config(const json& config) { return config.contains("text_config") ? config["text_config"] : config; }

}  // namespace

std::optional<GgufName> hf_to_gguf_name(const std::string& hf_name) {
  for (const auto& r : rules())
    if (auto n = match(r.hf, hf_name)) return GgufName{fill(r.gguf, *n), r.layout, r.mmproj};
  return std::nullopt;
}

std::optional<GgufName> gguf_to_hf_name(const std::string& gguf_name, bool mmproj) {
  for (const auto& r : rules())
    if (r.mmproj == mmproj)
      if (auto n = match(r.gguf, gguf_name)) return GgufName{fill(r.hf, *n), r.layout, r.mmproj};
  return std::nullopt;
}

uint32_t llama_ftype_for(GgmlType t) {
  switch (t) {
    case GgmlType::f32: return 0;
    case GgmlType::f16: return 1;
    case GgmlType::q4_0: return 2;
    case GgmlType::q8_0: return 7;
    case GgmlType::q4_k: return 14;  // LLAMA_FTYPE_MOSTLY_Q4_K_S
    case GgmlType::bf16: return 32;
    default: throw Error("no llama file type for " + ggml_type_name(t), ExitCode::unsupported);
  }
}

GgufConvertReport write_text_gguf(const std::string& model_dir, const std::string& out_path,
                                  const GgufConvertOptions& options) {
  check(ggml_can_quantize_to(options.type), "cannot write " + ggml_type_name(options.type), ExitCode::unsupported);
  json config = read_json(model_dir + "/config.json");
  json& tc = config.contains("text_config") ? config["text_config"] : config;
  const auto n_layers = get<int64_t>(tc, "num_hidden_layers", "text_config");
  const int64_t keep = options.keep_layers;
  check(keep >= 0 && keep <= n_layers, "--layers must be between 1 and " + std::to_string(n_layers), ExitCode::usage);
  if (keep > 0 && keep < n_layers) {
    // The shared layers are the last ones: dropping layers from the end removes them first.
    tc["num_kv_shared_layers"] = std::max<int64_t>(0, get_or<int64_t>(tc, "num_kv_shared_layers", 0) - (n_layers - keep));
    tc["num_hidden_layers"] = keep;
    auto types = get<std::vector<std::string>>(tc, "layer_types", "text_config");
    types.resize(static_cast<size_t>(keep));
    tc["layer_types"] = types;
  }
  const TensorStore store = TensorStore::open(model_dir);
  const TensorInfo& embed = store.require("model.language_model.embed_tokens.weight");
  check(embed.shape.size() == 2, "embed_tokens must be 2-D");

  GgufConvertReport report;
  GgufWriter w;
  set_general(w, "gemma4", model_dir, options.type);
  set_text_metadata(w, tc);
  set_tokenizer(w, model_dir, options.tokenizer_dir, config, embed.shape[0], report);

  const std::vector<float> freqs = proportional_rope_freqs(tc);
  w.add_tensor("rope_freqs.weight", GgmlType::f32, {static_cast<int64_t>(freqs.size())},
               quantize_ggml(GgmlType::f32, freqs.data(), static_cast<int64_t>(freqs.size())));
  const int64_t kept_layers = get<int64_t>(tc, "num_hidden_layers", "text_config");
  add_tensors(w, store, options.type, /*mmproj=*/false, report, options.verbose, n_layers, keep,
              kept_layers - get_or<int64_t>(tc, "num_kv_shared_layers", 0));
  w.write(out_path);
  report.tensors += 1;
  return report;
}

GgufConvertReport write_mmproj_gguf(const std::string& model_dir, const std::string& out_path,
                                    const GgufConvertOptions& options) {
  const json config = read_json(model_dir + "/config.json");
  const json& tc = text_config(config);
  const TensorStore store = TensorStore::open(model_dir);
  // llama.cpp's mmproj files are F16/BF16/Q8_0; 4-bit towers lose too much, so use F16 there.
  const GgmlType type = (options.type == GgmlType::q4_0 || options.type == GgmlType::q4_k) ? GgmlType::f16 : options.type;

  GgufWriter w;
  set_general(w, "clip", model_dir, type);
  const auto n_embd_text = get<int64_t>(tc, "hidden_size", "text_config");
  const bool vision = config.contains("vision_config") && !config["vision_config"].is_null();
  const bool audio = config.contains("audio_config") && !config["audio_config"].is_null();
  check(vision || audio, "config.json has neither vision_config nor audio_config", ExitCode::unsupported);
  w.set("clip.has_vision_encoder", GgufValue::boolean(vision));
  w.set("clip.has_audio_encoder", GgufValue::boolean(audio));
  if (vision) {
    const json& vc = config["vision_config"];
    const std::string k = "clip.vision.";
    w.set(k + "projector_type", GgufValue::str("gemma4v"));
    w.set(k + "embedding_length", GgufValue::u32(get<uint32_t>(vc, "hidden_size", "vision_config")));
    w.set(k + "feed_forward_length", GgufValue::u32(get<uint32_t>(vc, "intermediate_size", "vision_config")));
    w.set(k + "block_count", GgufValue::u32(get<uint32_t>(vc, "num_hidden_layers", "vision_config")));
    w.set(k + "attention.head_count", GgufValue::u32(get<uint32_t>(vc, "num_attention_heads", "vision_config")));
    w.set(k + "attention.layer_norm_epsilon", GgufValue::f32(get_or<float>(vc, "rms_norm_eps", 1e-6f)));
    w.set(k + "patch_size", GgufValue::u32(get<uint32_t>(vc, "patch_size", "vision_config")));
    w.set(k + "image_size", GgufValue::u32(224));  // unused by gemma4v; llama.cpp requires the key
    w.set(k + "projection_dim", GgufValue::u32(static_cast<uint32_t>(n_embd_text)));
    w.set(k + "image_mean", GgufValue::array_f32({0.0, 0.0, 0.0}));
    w.set(k + "image_std", GgufValue::array_f32({1.0, 1.0, 1.0}));
    w.set(k + "projector.scale_factor", GgufValue::u32(get_or<uint32_t>(vc, "pooling_kernel_size", 3)));
    // Values llama.cpp hard-codes (it reads none of these keys); ours, so the file holds the
    // whole configuration (gguf_to_hf_mmproj_config reads them back).
    const json rope = vc.value("rope_parameters", json::object());
    w.set(kMmprojExtraPrefix + std::string("vision.rope_theta"), GgufValue::f32(get_or<float>(rope, "rope_theta", 100.f)));
    w.set(kMmprojExtraPrefix + std::string("vision.max_soft_tokens"),
          GgufValue::u32(static_cast<uint32_t>(processor_max_soft_tokens(model_dir))));
  }
  if (audio) {
    const json& ac = config["audio_config"];
    const std::string k = "clip.audio.";
    const auto hidden = get<uint32_t>(ac, "hidden_size", "audio_config");
    w.set(k + "projector_type", GgufValue::str("gemma4a"));
    w.set(k + "num_mel_bins", GgufValue::u32(get_or<uint32_t>(ac, "input_feat_size", 128)));
    w.set(k + "embedding_length", GgufValue::u32(hidden));
    w.set(k + "feed_forward_length", GgufValue::u32(hidden * 4));
    w.set(k + "block_count", GgufValue::u32(get<uint32_t>(ac, "num_hidden_layers", "audio_config")));
    w.set(k + "attention.head_count", GgufValue::u32(get<uint32_t>(ac, "num_attention_heads", "audio_config")));
    w.set(k + "attention.layer_norm_epsilon", GgufValue::f32(get_or<float>(ac, "rms_norm_eps", 1e-6f)));
    w.set(k + "projection_dim", GgufValue::u32(static_cast<uint32_t>(n_embd_text)));
    const std::string x = kMmprojExtraPrefix + std::string("audio.");
    w.set(x + "attention_context_left", GgufValue::u32(get<uint32_t>(ac, "attention_context_left", "audio_config")));
    w.set(x + "attention_context_right", GgufValue::u32(get_or<uint32_t>(ac, "attention_context_right", 0)));
    w.set(x + "attention_logit_cap", GgufValue::f32(get<float>(ac, "attention_logit_cap", "audio_config")));
    w.set(x + "residual_weight", GgufValue::f32(get_or<float>(ac, "residual_weight", 0.5f)));
    w.set(x + "gradient_clipping", GgufValue::f32(get_or<float>(ac, "gradient_clipping", 1e10f)));
    w.set(x + "rms_norm_eps", GgufValue::f32(get_or<float>(ac, "rms_norm_eps", 1e-6f)));
  }
  GgufConvertReport report;
  add_tensors(w, store, type, /*mmproj=*/true, report, options.verbose);
  w.write(out_path);
  return report;
}

// ---- GgufHfStore ----------------------------------------------------------------------

GgufHfStore GgufHfStore::open(const std::string& text_gguf, const std::string& mmproj_gguf) {
  GgufHfStore s;
  s.text_ = std::make_shared<GgufFile>(GgufFile::open(text_gguf));
  check(s.text_->get_string("general.architecture", "") == "gemma4",
        text_gguf + ": general.architecture is not gemma4", ExitCode::unsupported);
  s.add(*s.text_, false);
  if (!mmproj_gguf.empty()) {
    s.mmproj_ = std::make_shared<GgufFile>(GgufFile::open(mmproj_gguf));
    check(s.mmproj_->get_string("general.architecture", "") == "clip",
          mmproj_gguf + ": general.architecture is not clip (not an mmproj file)", ExitCode::unsupported);
    s.add(*s.mmproj_, true);
  }
  return s;
}

GgufHfStore GgufHfStore::open_mmproj(const std::string& mmproj_gguf) {
  GgufHfStore s;
  s.mmproj_ = std::make_shared<GgufFile>(GgufFile::open(mmproj_gguf));
  check(s.mmproj_->get_string("general.architecture", "") == "clip",
        mmproj_gguf + ": general.architecture is not clip (not an mmproj file)", ExitCode::unsupported);
  s.add(*s.mmproj_, true);
  return s;
}

void GgufHfStore::add(const GgufFile& file, bool mmproj) {
  for (const auto& t : file.tensors()) {
    const auto hf = gguf_to_hf_name(t.name, mmproj);
    if (!hf) continue;  // GGUF-only tensors (rope_freqs) have no HF counterpart
    Entry e;
    e.hf_name = hf->name;
    e.layout = hf->layout;
    e.tensor = &t;
    e.shape = to_hf_layout(hf->layout, t.ne, nullptr);
    check(index_.emplace(e.hf_name, entries_.size()).second, file.path() + ": two tensors map to " + e.hf_name);
    entries_.push_back(std::move(e));
  }
}

const GgufHfStore::Entry* GgufHfStore::find(const std::string& hf_name) const {
  auto it = index_.find(hf_name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

const GgufHfStore::Entry& GgufHfStore::require(const std::string& hf_name) const {
  const Entry* e = find(hf_name);
  if (!e) throw Error("tensor '" + hf_name + "' not found in " + (text_ ? text_ : mmproj_)->path(), ExitCode::not_found);
  return *e;
}

std::vector<float> GgufHfStore::to_f32(const Entry& e) const {
  std::vector<float> x = gguf_to_f32(*e.tensor);
  to_hf_layout(e.layout, e.tensor->ne, &x);
  return x;
}

}  // namespace gemma4

namespace gemma4 {

GgufVocab read_gguf_vocab(const GgufFile& f) {
  GgufVocab v;
  v.model = f.get_string("tokenizer.ggml.model");
  v.pre = f.get_string("tokenizer.ggml.pre", "");
  v.tokens = f.get_strings("tokenizer.ggml.tokens");
  if (const GgufValue* t = f.find("tokenizer.ggml.token_type")) {
    check(t->is_array() && t->ints.size() == v.tokens.size(), f.path() + ": tokenizer.ggml.token_type does not match the tokens");
    v.token_types = t->ints;
  } else {
    v.token_types.assign(v.tokens.size(), 1);
  }
  if (const GgufValue* sc = f.find("tokenizer.ggml.scores")) {
    check(sc->is_array() && sc->floats.size() == v.tokens.size(), f.path() + ": tokenizer.ggml.scores does not match the tokens");
    v.scores = sc->floats;
  }
  if (f.has("tokenizer.ggml.merges")) v.merges = f.get_strings("tokenizer.ggml.merges");
  const auto n = static_cast<int64_t>(v.tokens.size());
  auto id = [&](const char* key) {
    const int64_t i = f.get_int(key, -1);
    check(i >= -1 && i < n, f.path() + ": " + key + " is out of range");
    return i;
  };
  v.bos = id("tokenizer.ggml.bos_token_id");
  v.eos = id("tokenizer.ggml.eos_token_id");
  v.unk = id("tokenizer.ggml.unknown_token_id");
  v.pad = id("tokenizer.ggml.padding_token_id");
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", true);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", false);
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix", false);
  v.chat_template = f.get_string("tokenizer.chat_template", "");
  return v;
}

nlohmann::json gguf_vocab_to_tokenizer_json(const GgufVocab& v) {
  constexpr int64_t kControlType = 3, kUserDefinedType = 4;
  nlohmann::json vocab = nlohmann::json::object();
  nlohmann::json added = nlohmann::json::array();
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    vocab[v.tokens[i]] = static_cast<int64_t>(i);
    const int64_t type = i < v.token_types.size() ? v.token_types[i] : 1;
    if (type == kControlType || type == kUserDefinedType)
      added.push_back({{"id", static_cast<int64_t>(i)},
                       {"content", v.tokens[i]},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", type == kControlType}});
  }
  nlohmann::json merges = nlohmann::json::array();
  for (const std::string& m : v.merges) {
    const size_t space = m.find(' ', 1);
    check(space != std::string::npos, "tokenizer.ggml.merges: \"" + m + "\" is not \"left right\"", ExitCode::bad_input);
    merges.push_back({m.substr(0, space), m.substr(space + 1)});
  }
  nlohmann::json model = {{"type", "BPE"}, {"byte_fallback", true}, {"fuse_unk", false}, {"vocab", std::move(vocab)},
                          {"merges", std::move(merges)}};
  if (v.unk >= 0) model["unk_token"] = v.tokens[static_cast<size_t>(v.unk)];
  return {{"version", "1.0"}, {"added_tokens", std::move(added)}, {"model", std::move(model)}};
}

nlohmann::json gguf_vocab_to_tokenizer_config(const GgufVocab& v) {
  nlohmann::json c = nlohmann::json::object();
  auto name = [&](const char* key, int64_t id) {
    if (id >= 0 && id < static_cast<int64_t>(v.tokens.size())) c[key] = v.tokens[static_cast<size_t>(id)];
  };
  name("bos_token", v.bos);
  name("eos_token", v.eos);
  name("unk_token", v.unk);
  name("pad_token", v.pad);
  if (!v.chat_template.empty()) c["chat_template"] = v.chat_template;
  return c;
}

nlohmann::json gguf_to_hf_text_config(const GgufFile& f) {
  const std::string arch = f.get_string("general.architecture");
  check(arch == "gemma4", f.path() + ": architecture " + arch + " is not gemma4", ExitCode::unsupported);
  const std::string k = "gemma4.";
  nlohmann::json c;
  c["model_type"] = "gemma4_text";
  const int64_t n_layer = f.get_int(k + "block_count");
  check(n_layer > 0 && n_layer < 100000, f.path() + ": bad block_count");
  c["num_hidden_layers"] = n_layer;
  c["hidden_size"] = f.get_int(k + "embedding_length");
  c["max_position_embeddings"] = f.get_int(k + "context_length");
  c["num_attention_heads"] = f.get_int(k + "attention.head_count");
  c["rms_norm_eps"] = f.get_float(k + "attention.layer_norm_rms_epsilon", 1e-6);
  const int64_t n_shared = f.get_int(k + "attention.shared_kv_layers", 0);
  c["num_kv_shared_layers"] = n_shared;
  // Layer types: true = sliding.
  const GgufValue* pattern = f.find(k + "attention.sliding_window_pattern");
  check(pattern && pattern->is_array() && static_cast<int64_t>(pattern->ints.size()) == n_layer,
        f.path() + ": attention.sliding_window_pattern must list every layer");
  std::vector<std::string> types;
  for (int64_t s : pattern->ints) types.push_back(s ? "sliding_attention" : "full_attention");
  c["layer_types"] = types;
  // FFN width: an array means double-wide MLPs on the KV-shared layers (or any per-layer widths).
  const auto ff = f.get_int_per_layer(k + "feed_forward_length", n_layer);
  c["intermediate_size"] = ff[0];
  bool double_wide = n_shared > 0;
  for (int64_t il = 0; il < n_layer; ++il)
    double_wide = double_wide && ff[static_cast<size_t>(il)] == (il < n_layer - n_shared ? ff[0] : 2 * ff[0]);
  bool uniform = true;
  for (int64_t w : ff) uniform = uniform && w == ff[0];
  check(uniform || double_wide, f.path() + ": feed_forward_length per layer is neither uniform nor double-wide on the shared layers",
        ExitCode::unsupported);
  c["use_double_wide_mlp"] = !uniform;
  // KV heads: one value, or full/sliding values per layer.
  const auto kv = f.get_int_per_layer(k + "attention.head_count_kv", n_layer);
  c["num_key_value_heads"] = kv[0];
  c["num_global_key_value_heads"] = nullptr;
  for (int64_t il = 0; il < n_layer; ++il)
    if (!pattern->ints[static_cast<size_t>(il)]) {
      if (kv[static_cast<size_t>(il)] != kv[0]) c["num_global_key_value_heads"] = kv[static_cast<size_t>(il)];
    } else {
      c["num_key_value_heads"] = kv[static_cast<size_t>(il)];
    }
  const int64_t hd_full = f.get_int(k + "attention.key_length");
  const int64_t hd_swa = f.get_int(k + "attention.key_length_swa", hd_full);
  c["head_dim"] = hd_swa;
  c["global_head_dim"] = hd_full;
  // Proportional RoPE: rope_freqs holds 1 for rotated pairs and a huge factor for the others.
  double partial = 1.0;
  if (const GgufTensor* rf = f.find_tensor("rope_freqs.weight")) {
    const auto factors = gguf_to_f32(*rf);
    const auto rotated = std::count(factors.begin(), factors.end(), 1.0f);
    partial = 2.0 * static_cast<double>(rotated) / static_cast<double>(hd_full);
  }
  nlohmann::json full = {{"rope_type", "proportional"}, {"rope_theta", f.get_float(k + "rope.freq_base")},
                         {"partial_rotary_factor", partial}};
  nlohmann::json sliding = {{"rope_type", "default"}, {"rope_theta", f.get_float(k + "rope.freq_base_swa", 10000.0)}};
  const int64_t rot_swa = f.get_int(k + "rope.dimension_count_swa", hd_swa);
  if (rot_swa != hd_swa) sliding["partial_rotary_factor"] = static_cast<double>(rot_swa) / static_cast<double>(hd_swa);
  c["rope_parameters"] = {{"full_attention", full}, {"sliding_attention", sliding}};
  c["sliding_window"] = f.get_int(k + "attention.sliding_window");
  c["hidden_size_per_layer_input"] = f.get_int(k + "embedding_length_per_layer_input", 0);
  c["final_logit_softcapping"] = f.has(k + "final_logit_softcapping")
                                     ? nlohmann::json(f.get_float(k + "final_logit_softcapping"))
                                     : nlohmann::json(nullptr);
  const GgufTensor& embd = f.require_tensor("token_embd.weight");
  check(embd.ne.size() == 2, f.path() + ": token_embd.weight must be 2-D");
  c["vocab_size"] = embd.ne[1];
  if (const GgufTensor* ple = f.find_tensor("per_layer_token_embd.weight")) c["vocab_size_per_layer_input"] = ple->ne[1];
  c["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;
  if (f.has("tokenizer.ggml.bos_token_id")) c["bos_token_id"] = f.get_int("tokenizer.ggml.bos_token_id");
  if (f.has("tokenizer.ggml.eos_token_id")) c["eos_token_id"] = f.get_int("tokenizer.ggml.eos_token_id");
  if (f.has("tokenizer.ggml.padding_token_id")) c["pad_token_id"] = f.get_int("tokenizer.ggml.padding_token_id");
  return c;
}

}  // namespace gemma4
