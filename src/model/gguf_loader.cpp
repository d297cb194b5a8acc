#include "model/gguf_loader.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "base/large_buffer.h"
#include "base/thread_pool.h"
#include "kernels/matmul.h"
#include "tensor/quant.h"

namespace gemma4 {

namespace {

// The formats the kernels multiply as GGML stores them.
bool stored_format(GgmlType t, WeightFormat* f) {
  switch (t) {
    case GgmlType::f32: *f = WeightFormat::f32; return true;
    case GgmlType::f16: *f = WeightFormat::f16; return true;
    case GgmlType::bf16: *f = WeightFormat::bf16; return true;
    case GgmlType::q8_0: *f = WeightFormat::q8_0; return true;
    case GgmlType::q4_0: *f = WeightFormat::q4_0; return true;
    default: return false;
  }
}

// Dequantizes each row of a block-quantized tensor and requantizes it to Q8_0 (owned storage).
Weight requantize_to_q8_0(const GgufTensor& t, const std::string& name, int64_t rows, int64_t cols) {
  check(cols % kQK == 0, t.name + ": " + std::to_string(cols) + " columns cannot be stored as Q8_0",
        ExitCode::unsupported);
  const size_t src_row = ggml_row_bytes(t.type, cols);
  const int64_t dst_row = weight_row_bytes(WeightFormat::q8_0, cols);
  const std::shared_ptr<uint8_t> storage = allocate_large_buffer(static_cast<size_t>(rows * dst_row));
  uint8_t* dst = storage.get();
  parallel_ranges(rows, 1, [&](int64_t r0, int64_t r1) {
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = r0; r < r1; ++r) {
      dequantize_ggml(t.type, t.data + r * src_row, row.data(), cols);
      quantize_q8_0(row.data(), reinterpret_cast<BlockQ8_0*>(dst + r * dst_row), cols);
    }
  });
  Weight w;
  w.format = WeightFormat::q8_0;
  w.rows = rows;
  w.cols = cols;
  w.data = dst;
  w.owner = std::shared_ptr<const void>(storage, storage.get());
  w.name = name;
  return w;
}

std::string shape_text(const std::vector<int64_t>& shape) { return shape_to_string(shape); }

// The id of the first token spelled `text`, or -1.
int64_t token_id(const GgufVocab& vocab, const std::string& text) {
  for (size_t i = 0; i < vocab.tokens.size(); ++i)
    if (vocab.tokens[i] == text) return static_cast<int64_t>(i);
  return -1;
}

}  // namespace

bool is_gguf_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

Weight GgufTensorSource::matrix(const std::string& name, int64_t rows, int64_t cols) const {
  const GgufHfStore::Entry& e = store_->require(name);
  check(e.shape == std::vector<int64_t>{rows, cols},
        store_->text().path() + ": tensor " + e.tensor->name + " (" + name + ") has shape " + shape_text(e.shape) +
            ", expected " + shape_text({rows, cols}),
        ExitCode::bad_input);
  check(e.layout == GgufLayout::same, e.tensor->name + ": not a plain matrix", ExitCode::bad_input);
  WeightFormat format;
  if (!stored_format(e.tensor->type, &format)) return requantize_to_q8_0(*e.tensor, name, rows, cols);
  Weight w;
  w.format = format;
  w.rows = rows;
  w.cols = cols;
  w.data = e.tensor->data;
  w.name = name;
  return w;
}

std::vector<float> GgufTensorSource::vector(const std::string& name, int64_t n) const {
  const GgufHfStore::Entry& e = store_->require(name);
  check(e.shape == std::vector<int64_t>{n}, store_->text().path() + ": tensor " + e.tensor->name + " (" + name +
                                                ") has shape " + shape_text(e.shape) + ", expected " +
                                                shape_text({n}),
        ExitCode::bad_input);
  return store_->to_f32(e);
}

GgufTextModel open_gguf_text_model(const std::string& path) {
  auto store = std::make_shared<const GgufHfStore>(GgufHfStore::open(path));
  GgufTextModel m;
  m.config = parse_model_config(gguf_to_hf_text_config(store->text()), path);
  m.config.text_tensor_prefix = "model.language_model.";  // GgufHfStore's names
  m.vocab = read_gguf_vocab(store->text());
  check(static_cast<int64_t>(m.vocab.tokens.size()) >= m.config.text.vocab_size,
        path + ": the tokenizer has fewer tokens than token_embd.weight has rows", ExitCode::bad_input);
  // Placeholder and delimiter ids by their text (llama.cpp's files name them in the vocabulary).
  m.config.image_token_id = token_id(m.vocab, "<|image|>");
  m.config.audio_token_id = token_id(m.vocab, "<|audio|>");
  m.config.video_token_id = token_id(m.vocab, "<|video|>");
  m.config.boi_token_id = token_id(m.vocab, "<|image>");
  m.config.eoi_token_id = token_id(m.vocab, "<image|>");
  m.config.boa_token_id = token_id(m.vocab, "<|audio>");
  m.config.eoa_token_id = token_id(m.vocab, "<audio|>");
  m.config.stop_ids.clear();
  if (m.vocab.eos >= 0) m.config.stop_ids.push_back(m.vocab.eos);
  const int64_t end_of_turn = token_id(m.vocab, "<turn|>");
  if (end_of_turn >= 0 && end_of_turn != m.vocab.eos) m.config.stop_ids.push_back(end_of_turn);
  m.source = std::make_shared<const GgufTensorSource>(std::move(store));
  return m;
}

Tokenizer gguf_tokenizer(const GgufVocab& vocab) {
  return Tokenizer::from_json(gguf_vocab_to_tokenizer_json(vocab).dump(), gguf_vocab_to_tokenizer_config(vocab).dump());
}

WeightConverter gguf_converter(std::optional<WeightFormat> float_weights) {
  return [float_weights](const Weight& w, WeightRole role) {
    if (role == WeightRole::gather_table) return w;  // gathered a row at a time: keep it mapped
    if (!is_block_quantized(w.format)) return float_weights ? runtime_weight_converter(*float_weights)(w, role) : w;
    const WeightFormat target = kernels::repacked_format(w.format, w.rows, w.cols);
    return target == w.format || target == WeightFormat::bf16 ? w : kernels::convert_weight(w, target);
  };
}

}  // namespace gemma4
