// Hugging Face Gemma 4 checkpoint <-> llama.cpp GGUF: tensor names, layouts and metadata.
//
// Text model: llama.cpp architecture `gemma4` (one GGUF). Vision + audio towers: one mmproj
// GGUF (`general.architecture = clip`, projectors `gemma4v` and `gemma4a`). Names and keys
// follow llama.cpp's converter (conversion/gemma.py: Gemma4Model, Gemma4VisionAudioModel) and
// gguf-py constants; see ../shared/spec/text_decoder.md §2.2, vision.md §4.2, audio.md §5.2.
//
// The mapping works both ways, so a GGUF can be read back as a name -> tensor store with the
// Hugging Face names and shapes the model code binds (GgufHfStore).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "io/gguf.h"

namespace gemma4 {

// How a tensor's values differ between the two files.
enum class GgufLayout {
  same,           // identical values; shape reversed (ggml ne order)
  scalar,         // HF 0-dim scalar <-> GGUF ne {1}
  patch_embd,     // HF [n, p*p*3] (row, col, channel) <-> GGUF conv kernel ne {p, p, 3, n}
  softplus,       // GGUF stores softplus(HF value) (audio per_dim_scale)
  depthwise,      // HF [C, 1, K] <-> GGUF ne {K, C}
};

struct GgufName {
  std::string name;  // the other file's name
  GgufLayout layout = GgufLayout::same;
  bool mmproj = false;  // lives in the mmproj file (vision/audio), not the text model
};

// HF name -> GGUF name (nullopt if the tensor has no GGUF counterpart, e.g. lm_head.weight).
std::optional<GgufName> hf_to_gguf_name(const std::string& hf_name);
// GGUF name -> HF name (nullopt for GGUF-only tensors such as rope_freqs.weight).
std::optional<GgufName> gguf_to_hf_name(const std::string& gguf_name, bool mmproj);

// Prefix of the mmproj metadata keys only we write: the configuration values llama.cpp's
// gemma4v / gemma4a graphs hard-code (vision RoPE theta and image budget; the audio attention
// context, logit cap, residual weight, ...). llama.cpp ignores them; a file without them (one
// llama.cpp's converter wrote) gets llama.cpp's constants, which are Gemma 4's published values.
inline constexpr const char* kMmprojExtraPrefix = "gemma4cpp.";

// Options of `gemma4 quantize`.
struct GgufConvertOptions {
  GgmlType type = GgmlType::q8_0;  // q8_0 | q4_0 | q4_k | bf16 (f16, f32 also work)
  std::string tokenizer_dir;       // folder with tokenizer.json; default: the model folder
  bool verbose = false;
  // Developer option (0 = all): keep only the first N decoder layers, with the per-layer
  // embedding tables cut to match and KV sharing reduced accordingly. llama.cpp cannot run the
  // tiny goldens model whole (see tools/llama_parity/README.md); its first layers it can.
  int64_t keep_layers = 0;
};

struct GgufConvertReport {
  size_t tensors = 0;
  size_t fallback_tensors = 0;   // rows not a whole number of blocks: stored in a wider type
  bool synthetic_tokenizer = false;
  bool chat_template = false;
};

// Converts a Hugging Face Gemma 4 folder into a llama.cpp `gemma4` text GGUF.
GgufConvertReport write_text_gguf(const std::string& model_dir, const std::string& out_path,
                                  const GgufConvertOptions& options);
// Converts the vision and audio towers (+ their embedders) into an mmproj GGUF.
GgufConvertReport write_mmproj_gguf(const std::string& model_dir, const std::string& out_path,
                                    const GgufConvertOptions& options);

// The `general.file_type` (llama_ftype) value for a --type.
uint32_t llama_ftype_for(GgmlType t);

// The tokenizer stored in a GGUF (llama.cpp keys tokenizer.ggml.* and tokenizer.chat_template).
struct GgufVocab {
  std::string model;  // tokenizer.ggml.model ("gemma4", or "llama" in ollama's files)
  std::string pre;    // tokenizer.ggml.pre (may be empty)
  std::vector<std::string> tokens;
  std::vector<int64_t> token_types;  // 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte
  std::vector<double> scores;        // empty if absent
  std::vector<std::string> merges;   // "left right"
  int64_t bos = -1, eos = -1, unk = -1, pad = -1;
  bool add_bos = true, add_eos = false, add_space_prefix = false;
  std::string chat_template;  // empty if the file has none
};
GgufVocab read_gguf_vocab(const GgufFile& file);

// The stored vocabulary as a Hugging Face tokenizer.json (BPE with byte fallback, as Gemma 4's):
// every token in model.vocab at its id, merges as [left, right] pairs (GGUF stores "left right";
// split at the first space after the first character, as llama.cpp does), and the CONTROL (3)
// and USER_DEFINED (4) tokens as added_tokens, special for CONTROL. The text tokenizer
// (text/tokenizer.h: Tokenizer::from_json) reads it like a file from the Hub.
nlohmann::json gguf_vocab_to_tokenizer_json(const GgufVocab& vocab);
// The matching tokenizer_config.json: bos/eos/unk/pad token texts and the chat template.
nlohmann::json gguf_vocab_to_tokenizer_config(const GgufVocab& vocab);

// The text model's Hugging Face `text_config` rebuilt from gemma4 GGUF metadata (the inverse of
// what write_text_gguf writes), so the model code reads one configuration format. Proportional
// RoPE's partial_rotary_factor is recovered from rope_freqs (count of factors equal to 1).
nlohmann::json gguf_to_hf_text_config(const GgufFile& file);

// A GGUF text model (and optionally its mmproj) seen through Hugging Face names: each tensor
// with its HF name, HF (PyTorch-order) shape, and float32 values with the GGUF-side
// transformations undone (softplus, patch permutation, reshapes).
class GgufHfStore {
 public:
  struct Entry {
    std::string hf_name;
    std::vector<int64_t> shape;  // PyTorch order, as in the safetensors checkpoint
    GgufLayout layout = GgufLayout::same;
    const GgufTensor* tensor = nullptr;
  };

  static GgufHfStore open(const std::string& text_gguf, const std::string& mmproj_gguf = "");
  // An mmproj file on its own (the vision / audio towers; no text model).
  static GgufHfStore open_mmproj(const std::string& mmproj_gguf);

  const Entry* find(const std::string& hf_name) const;
  const Entry& require(const std::string& hf_name) const;
  const std::vector<Entry>& entries() const { return entries_; }
  const GgufFile& text() const { return *text_; }
  const GgufFile* mmproj() const { return mmproj_.get(); }
  // Float32 values in HF layout.
  std::vector<float> to_f32(const Entry& e) const;

 private:
  void add(const GgufFile& file, bool mmproj);
  std::shared_ptr<GgufFile> text_, mmproj_;
  std::vector<Entry> entries_;
  std::map<std::string, size_t> index_;  // hf_name -> entries_ position
};

}  // namespace gemma4
