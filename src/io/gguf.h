// GGUF files (llama.cpp / ggml): reading (memory-mapped, strictly bounds-checked) and writing.
//
// Layout (GGUF v2/v3, little-endian): "GGUF", version u32, tensor count u64, KV count u64;
// KV pairs (key string, value type u32, value); tensor infos (name, n_dims u32, ne[] u64,
// type u32, offset u64); padding to `general.alignment` (default 32); tensor data.
// Strings are u64 length + bytes. Shapes are GGML order: ne[0] is the innermost (contiguous)
// dimension, so a PyTorch [out, in] matrix is stored as ne = {in, out}.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "tensor/ggml_types.h"

namespace gemma4 {

// GGUF metadata value types (gguf.h `enum gguf_type`).
enum class GgufType : uint32_t {
  u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
  string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12,
};
std::string gguf_type_name(GgufType t);

// One metadata value. Scalars keep their type; arrays keep their element type and hold the
// elements in `ints` (all integer types and bools), `floats` or `strings`.
struct GgufValue {
  GgufType type = GgufType::u32;
  GgufType elem_type = GgufType::u32;  // arrays only
  int64_t i = 0;         // integer / bool scalars (u64 above INT64_MAX wraps; none are used)
  double f = 0;          // float scalars
  std::string s;         // string scalars
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string> strings;

  bool is_array() const { return type == GgufType::array; }
  bool is_integer() const;  // any integer or bool scalar
  bool is_float() const { return type == GgufType::f32 || type == GgufType::f64; }
  size_t array_size() const;

  // Typed constructors for writers.
  static GgufValue u32(uint32_t v);
  static GgufValue i32(int32_t v);
  static GgufValue u64(uint64_t v);
  static GgufValue f32(float v);
  static GgufValue boolean(bool v);
  static GgufValue str(std::string v);
  static GgufValue array_i32(std::vector<int64_t> v);
  static GgufValue array_u32(std::vector<int64_t> v);
  static GgufValue array_bool(std::vector<bool> v);
  static GgufValue array_f32(std::vector<double> v);
  static GgufValue array_str(std::vector<std::string> v);
};

// One tensor: its info and, for a file that was read, where its bytes are.
struct GgufTensor {
  std::string name;
  GgmlType type = GgmlType::f32;
  std::vector<int64_t> ne;  // GGML order: ne[0] innermost
  uint64_t offset = 0;      // from the start of the data section
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;
  int64_t row_length() const { return ne.empty() ? 1 : ne[0]; }
  int64_t rows() const { return row_length() ? numel() / row_length() : 0; }
  // PyTorch order (outermost first): the reverse of ne.
  std::vector<int64_t> torch_shape() const { return {ne.rbegin(), ne.rend()}; }
};

// Parsed contents of a GGUF file (pointers into the bytes given to parse_gguf).
struct GgufContents {
  uint32_t version = 0;
  uint64_t alignment = 32;
  std::map<std::string, GgufValue> kv;
  std::vector<std::string> kv_order;  // keys in file order
  std::vector<GgufTensor> tensors;    // in file order
  size_t data_offset = 0;             // start of the data section in the file
};

// Parses GGUF bytes. Throws Error (bad_input) on anything out of bounds or inconsistent:
// bad magic/version, truncated strings/arrays, absurd counts, duplicate keys or tensor
// names, ne <= 0 or overflowing, misaligned or overlapping tensor data, data past the end;
// Error (unsupported) for tensor types we cannot read. `source` names the file in messages.
GgufContents parse_gguf(const uint8_t* bytes, size_t size, const std::string& source);

// A memory-mapped GGUF file.
class GgufFile {
 public:
  static GgufFile open(const std::string& path);

  const GgufContents& contents() const { return contents_; }
  const std::string& path() const { return map_->path(); }
  const std::vector<GgufTensor>& tensors() const { return contents_.tensors; }
  const GgufTensor* find_tensor(const std::string& name) const;  // nullptr if absent
  const GgufTensor& require_tensor(const std::string& name) const;

  const GgufValue* find(const std::string& key) const;  // nullptr if absent
  bool has(const std::string& key) const { return find(key) != nullptr; }
  // Typed getters: throw a clear Error if the key is missing or of another kind.
  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_float(const std::string& key) const;
  double get_float(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  // A per-layer value stored either as one scalar or as an array of n_layers (e.g.
  // feed_forward_length, head_count_kv): always returns n_layers values.
  std::vector<int64_t> get_int_per_layer(const std::string& key, int64_t n_layers) const;
  const std::vector<std::string>& get_strings(const std::string& key) const;

  std::shared_ptr<const MappedFile> mapping() const { return map_; }

 private:
  std::shared_ptr<const MappedFile> map_;
  GgufContents contents_;
  std::map<std::string, size_t> tensor_index_;
};

// Reads one tensor as float32 (any supported type), numel values in GGML order.
std::vector<float> gguf_to_f32(const GgufTensor& t);

// Writes GGUF v3 files. Tensor bytes are produced on demand while writing, in pieces, so
// converting a large model (E2B's 2.35 B-entry per-layer table) never holds a whole tensor.
class GgufWriter {
 public:
  using Emit = std::function<void(const uint8_t* bytes, size_t n)>;
  // Calls emit() with the tensor's bytes, in order, in as many pieces as it likes.
  using Producer = std::function<void(const Emit& emit)>;

  void set_alignment(uint64_t a) { alignment_ = a; }
  void set(const std::string& key, GgufValue value);  // replaces an existing key
  // `ne` in GGML order; `produce` must return exactly ggml_row_bytes(type, ne[0]) * rows bytes.
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne, Producer produce);
  void add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne, std::vector<uint8_t> bytes);
  void write(const std::string& path) const;  // throws Error on I/O failure

  size_t tensor_count() const { return tensors_.size(); }

 private:
  struct Pending {
    std::string name;
    GgmlType type;
    std::vector<int64_t> ne;
    size_t nbytes;
    Producer produce;
  };
  uint64_t alignment_ = 32;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Pending> tensors_;
};

}  // namespace gemma4
