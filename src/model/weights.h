// Binding checkpoint tensors to the decoder's weights: the ONE place where a stored tensor
// becomes a `Weight`. Matrices stay memory-mapped as stored (bf16 / f16 / f32); the float32
// reference path upcasts while it multiplies, so nothing is copied. Small vectors (norm
// scales, layer scalars) are read into float32.
//
// A `WeightConverter` hook lets a fast path convert (quantize / repack) every matrix at
// load time without touching model code.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "model/config.h"
#include "tensor/weight.h"

namespace gemma4 {

// What a matrix is used for, so a converter can choose (e.g. keep gather-only tables as stored).
enum class WeightRole {
  linear,           // multiplied by activations (projections, MLP)
  token_embedding,  // rows gathered for input ids AND multiplied as the tied LM head
  gather_table,     // rows gathered only (the per-layer embedding table): keep it mapped
};

// Returns the weight to use in place of `stored` (or `stored` itself).
using WeightConverter = std::function<Weight(const Weight& stored, WeightRole role)>;

struct LoadOptions {
  WeightConverter converter;  // empty: use every tensor as stored (unless `weights` is set)
  // The numerics to run the matrices in (--weights): bf16 | q8_0 | q4_0, loaded in the layout the
  // active ISA multiplies fastest (kernels::runtime_format). Linears and the tied LM head are
  // converted at load; the per-layer embedding table stays mapped as stored. Unset: as stored
  // (the float32 reference path the goldens test). Ignored when `converter` is set.
  std::optional<WeightFormat> weights;
};

// "bf16" | "q8" | "q4" (also "q8_0" / "q4_0") -> the format; anything else: Error (usage).
WeightFormat parse_weights_flag(const std::string& name);
// The format a stored float tensor (f32 / bf16 / f16) is used in as stored; other dtypes: Error.
WeightFormat weight_format_of(const TensorInfo& t);
// The name parse_weights_flag() reads back ("bf16", "q8", "q4").
std::string weights_flag_name(WeightFormat requested);

// A converter that loads linears and the tied embedding in `requested` numerics (see
// LoadOptions::weights) and keeps gather-only tables as stored.
WeightConverter runtime_weight_converter(WeightFormat requested);


// Where the decoder's tensors come from, by Hugging Face name: a safetensors checkpoint
// (SafetensorsSource) or a llama.cpp GGUF file (model/gguf_loader.h).
class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual bool has(const std::string& name) const = 0;
  // The stored [rows, cols] matrix as a Weight (no load-time conversion). Throws a clear Error
  // (file, tensor, expected vs found) if it is missing, has another shape or an unusable type.
  virtual Weight matrix(const std::string& name, int64_t rows, int64_t cols) const = 0;
  // A vector tensor of exactly `n` elements (shape [n]) as float32.
  virtual std::vector<float> vector(const std::string& name, int64_t n) const = 0;
};

// The tensors of a safetensors checkpoint (the store must outlive the source).
class SafetensorsSource : public TensorSource {
 public:
  explicit SafetensorsSource(const TensorStore& store) : store_(store) {}
  bool has(const std::string& name) const override { return store_.find(name) != nullptr; }
  Weight matrix(const std::string& name, int64_t rows, int64_t cols) const override;
  std::vector<float> vector(const std::string& name, int64_t n) const override;

 private:
  const TensorStore& store_;
};

// Binds tensor `name` as a [rows, cols] matrix, then converts it as `options` say (converter,
// else `weights`).
Weight bind_weight(const TensorSource& source, const std::string& name, int64_t rows, int64_t cols,
                   WeightRole role = WeightRole::linear, const LoadOptions& options = {});
Weight bind_weight(const TensorStore& store, const std::string& name, int64_t rows, int64_t cols,
                   WeightRole role = WeightRole::linear, const LoadOptions& options = {});

// Reads a float vector tensor of exactly `n` elements (shape [n]) into float32.
std::vector<float> read_vector(const TensorStore& store, const std::string& name, int64_t n);

struct DecoderLayerWeights {
  std::vector<float> input_norm, post_attention_norm, pre_feedforward_norm, post_feedforward_norm;
  std::vector<float> post_per_layer_input_norm;
  Weight q_proj, k_proj, v_proj, o_proj;  // k/v empty on KV-shared layers
  std::vector<float> q_norm, k_norm;      // k_norm empty on KV-shared layers
  Weight gate_proj, up_proj, down_proj;
  Weight per_layer_input_gate, per_layer_projection;
  float layer_scalar = 1.f;
};

struct TextWeights {
  Weight embed_tokens;            // [vocab, H] as stored: rows gathered for the input ids
  // [vocab, H]: the same tied matrix in the format the LM head multiplies in (LoadOptions);
  // empty means embed_tokens. Lookups keep the stored rows: no quantization error enters the
  // residual stream there, and a gathered row costs no bandwidth.
  Weight lm_head;
  Weight embed_tokens_per_layer;  // [vocab_per_layer, L·P], gathered only
  Weight per_layer_model_projection;  // [L·P, H]
  std::vector<float> per_layer_projection_norm;  // [P]
  std::vector<float> final_norm;                 // [H]
  std::vector<DecoderLayerWeights> layers;
};

// Binds every text tensor named by `config` from `store`. Redundant K/V/k_norm tensors that
// some checkpoints carry on KV-shared layers are ignored.
TextWeights bind_text_weights(const TensorSource& source, const ModelConfig& config, const LoadOptions& options = {});
TextWeights bind_text_weights(const TensorStore& store, const ModelConfig& config, const LoadOptions& options = {});

}  // namespace gemma4
