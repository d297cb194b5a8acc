#include "model/weights.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "base/error.h"
#include "kernels/matmul.h"

namespace gemma4 {

WeightFormat weight_format_of(const TensorInfo& t) {
  switch (t.dtype) {
    case DType::f32: return WeightFormat::f32;
    case DType::bf16: return WeightFormat::bf16;
    case DType::f16: return WeightFormat::f16;
    default:
      throw Error(t.file + ": tensor " + t.name + " has dtype " + dtype_name(t.dtype) +
                      ", expected a float type (bf16, f16 or f32)",
                  ExitCode::unsupported);
  }
}

WeightFormat parse_weights_flag(const std::string& name) {
  if (name == "bf16") return WeightFormat::bf16;
  if (name == "q8" || name == "q8_0") return WeightFormat::q8_0;
  if (name == "q4" || name == "q4_0") return WeightFormat::q4_0;
  throw Error("unknown weight format '" + name + "' (expected bf16, q8 or q4)", ExitCode::usage);
}

std::string weights_flag_name(WeightFormat requested) {
  switch (requested) {
    case WeightFormat::q8_0: return "q8";
    case WeightFormat::q4_0: return "q4";
    default: return weight_format_name(requested);
  }
}

WeightConverter runtime_weight_converter(WeightFormat requested) {
  return [requested](const Weight& stored, WeightRole role) {
    if (role == WeightRole::gather_table) return stored;  // only a few rows are read per token
    // bf16 means "as stored": a float checkpoint keeps its exact (reference) numbers.
    if (requested == WeightFormat::bf16 && !is_block_quantized(stored.format)) return stored;
    const WeightFormat target = kernels::runtime_format(requested, stored.rows, stored.cols);
    return target == stored.format ? stored : kernels::convert_weight(stored, target);
  };
}

namespace {

// Drops the resident pages of a stored tensor that was just converted: TensorStore maps the
// files read-only and private, so the pages come back from the page cache if the tensor is
// read again (the tied embedding's rows are). Without this, converting a 10 GB checkpoint
// leaves every converted page counted in the process's RSS.
void release_stored_pages(const Weight& stored) {
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(stored.data);
  const uintptr_t first = (begin + page - 1) / page * page;  // whole pages inside the tensor only
  const uintptr_t last = (begin + static_cast<uintptr_t>(stored.total_bytes())) / page * page;
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

Weight convert_for_role(const Weight& stored, WeightRole role, const LoadOptions& options) {
  if (options.converter) return options.converter(stored, role);
  if (!options.weights) return stored;
  Weight converted = runtime_weight_converter(*options.weights)(stored, role);
  if (converted.data != stored.data) release_stored_pages(stored);
  return converted;
}

}  // namespace

Weight SafetensorsSource::matrix(const std::string& name, int64_t rows, int64_t cols) const {
  const TensorInfo& t = store_.require(name, {rows, cols});
  Weight w;
  w.format = weight_format_of(t);
  w.rows = rows;
  w.cols = cols;
  w.data = t.data;
  w.name = name;
  return w;
}

std::vector<float> SafetensorsSource::vector(const std::string& name, int64_t n) const {
  const TensorInfo& t = store_.require(name, {n});
  weight_format_of(t);  // validates the dtype
  return to_f32(t);
}

Weight bind_weight(const TensorSource& source, const std::string& name, int64_t rows, int64_t cols, WeightRole role,
                   const LoadOptions& options) {
  return convert_for_role(source.matrix(name, rows, cols), role, options);
}

Weight bind_weight(const TensorStore& store, const std::string& name, int64_t rows, int64_t cols, WeightRole role,
                   const LoadOptions& options) {
  return bind_weight(SafetensorsSource(store), name, rows, cols, role, options);
}

std::vector<float> read_vector(const TensorStore& store, const std::string& name, int64_t n) {
  return SafetensorsSource(store).vector(name, n);
}

TextWeights bind_text_weights(const TensorStore& store, const ModelConfig& config, const LoadOptions& options) {
  return bind_text_weights(SafetensorsSource(store), config, options);
}

TextWeights bind_text_weights(const TensorSource& source, const ModelConfig& config, const LoadOptions& options) {
  const TextConfig& c = config.text;
  const std::string& p = config.text_tensor_prefix;
  const int64_t H = c.hidden_size, P = c.hidden_size_per_layer_input, L = c.num_layers;
  TextWeights w;
  w.embed_tokens = bind_weight(source, p + "embed_tokens.weight", c.vocab_size, H);
  w.lm_head = convert_for_role(w.embed_tokens, WeightRole::token_embedding, options);
  if (w.lm_head.data == w.embed_tokens.data) w.lm_head = Weight{};  // not converted: one weight serves both
  w.embed_tokens_per_layer = bind_weight(source, p + "embed_tokens_per_layer.weight", c.vocab_size_per_layer_input,
                                         L * P, WeightRole::gather_table, options);
  w.per_layer_model_projection =
      bind_weight(source, p + "per_layer_model_projection.weight", L * P, H, WeightRole::linear, options);
  w.per_layer_projection_norm = source.vector(p + "per_layer_projection_norm.weight", P);
  w.final_norm = source.vector(p + "norm.weight", H);

  for (int64_t l = 0; l < L; ++l) {
    const std::string lp = p + "layers." + std::to_string(l) + ".";
    const int64_t hd = c.head_dim_of(l), F = c.mlp_width_of(l);
    const int64_t q_rows = c.num_heads * hd, kv_rows = c.num_kv_heads * hd;
    auto linear = [&](const std::string& name, int64_t rows, int64_t cols) {
      return bind_weight(source, lp + name, rows, cols, WeightRole::linear, options);
    };
    DecoderLayerWeights lw;
    lw.input_norm = source.vector(lp + "input_layernorm.weight", H);
    lw.post_attention_norm = source.vector(lp + "post_attention_layernorm.weight", H);
    lw.pre_feedforward_norm = source.vector(lp + "pre_feedforward_layernorm.weight", H);
    lw.post_feedforward_norm = source.vector(lp + "post_feedforward_layernorm.weight", H);
    lw.post_per_layer_input_norm = source.vector(lp + "post_per_layer_input_norm.weight", H);
    lw.q_proj = linear("self_attn.q_proj.weight", q_rows, H);
    lw.o_proj = linear("self_attn.o_proj.weight", H, q_rows);
    lw.q_norm = source.vector(lp + "self_attn.q_norm.weight", hd);
    if (!c.is_kv_shared(l)) {  // shared layers read a donor's cache; their K/V tensors (if any) are unused
      lw.k_proj = linear("self_attn.k_proj.weight", kv_rows, H);
      lw.v_proj = linear("self_attn.v_proj.weight", kv_rows, H);
      lw.k_norm = source.vector(lp + "self_attn.k_norm.weight", hd);
    }
    lw.gate_proj = linear("mlp.gate_proj.weight", F, H);
    lw.up_proj = linear("mlp.up_proj.weight", F, H);
    lw.down_proj = linear("mlp.down_proj.weight", H, F);
    lw.per_layer_input_gate = linear("per_layer_input_gate.weight", P, H);
    lw.per_layer_projection = linear("per_layer_projection.weight", H, P);
    lw.layer_scalar = source.vector(lp + "layer_scalar", 1)[0];
    w.layers.push_back(std::move(lw));
  }
  return w;
}

}  // namespace gemma4
