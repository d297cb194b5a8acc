// Running a llama.cpp `gemma4` GGUF file: the text model's configuration from the GGUF metadata,
// its tensors bound by Hugging Face name (io/hf_to_gguf.h: GgufHfStore), and the tokenizer and
// chat template stored in the file.
//
// How each GGUF tensor type becomes a decoder weight:
//   F32, F16, BF16, Q8_0, Q4_0  used as stored: the Weight points into the memory-mapped file
//                               (GGML's Q8_0/Q4_0 blocks are WeightFormat::q8_0/q4_0 byte for byte);
//   Q4_1, Q5_0, Q5_1, Q4_K,     no kernel multiplies these: each matrix is dequantized at load and
//   Q5_K, Q6_K                  requantized to Q8_0 (8.5 bits: its rounding, a 1/254 step of the
//                               block maximum, is well below the source's 4-6 bit step);
//   anything else               "unsupported tensor type X" (io/gguf.h refuses it on open).
// Vectors (norms, layer scalars) are read into float32 whatever their type.
//
// gguf_converter() is how TextDecoder::load_gguf converts at load (unless LoadOptions has a
// converter): stored Q4_0/Q8_0 matrices keep the file's numbers, repacked into the layout the
// active ISA multiplies fastest (kernels::runtime_format) — `--weights` does not requantize
// them —; float matrices (F32/F16/BF16 files) follow LoadOptions::weights like a safetensors
// checkpoint; the per-layer embedding table, only ever gathered, stays mapped.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "io/hf_to_gguf.h"
#include "model/config.h"
#include "model/weights.h"
#include "text/tokenizer.h"

namespace gemma4 {

// True if `path` is a regular file starting with the GGUF magic.
bool is_gguf_file(const std::string& path);

// A GGUF's tensors under their Hugging Face names (model.language_model.*).
class GgufTensorSource : public TensorSource {
 public:
  explicit GgufTensorSource(std::shared_ptr<const GgufHfStore> store) : store_(std::move(store)) {}
  bool has(const std::string& name) const override { return store_->find(name) != nullptr; }
  Weight matrix(const std::string& name, int64_t rows, int64_t cols) const override;
  std::vector<float> vector(const std::string& name, int64_t n) const override;
  const GgufHfStore& store() const { return *store_; }

 private:
  std::shared_ptr<const GgufHfStore> store_;
};

struct GgufTextModel {
  ModelConfig config;
  std::shared_ptr<const GgufTensorSource> source;  // keeps the mapping alive
  GgufVocab vocab;                                 // tokens, merges, special ids, chat template
};

// Opens a `gemma4` GGUF (and reads its metadata into a ModelConfig). The multimodal ids
// (image/audio placeholders and delimiters) and the stop ids come from the stored vocabulary:
// eos plus the end-of-turn token "<turn|>" when the file has it.
GgufTextModel open_gguf_text_model(const std::string& path);

// The tokenizer stored in the file (tokenizer.ggml.*: pieces, merges, special tokens), built
// through the tokenizer.json it stands for (gguf_vocab_to_tokenizer_json).
Tokenizer gguf_tokenizer(const GgufVocab& vocab);

// The load-time conversion of a GGUF's matrices (see above). `float_weights`: the numerics
// requested for float matrices (LoadOptions::weights; unset: as stored).
WeightConverter gguf_converter(std::optional<WeightFormat> float_weights);

}  // namespace gemma4
