// Safetensors files (one file or a sharded model.safetensors.index.json), memory-mapped.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/mapped_file.h"
#include "tensor/dtype.h"

namespace gemma4 {

// One stored tensor: where its bytes are and what they mean. `data` points into a mapping.
struct TensorInfo {
  std::string name;
  std::string file;  // the file it lives in, for error messages
  DType dtype = DType::f32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t nbytes = 0;

  int64_t numel() const;
  std::string shape_str() const;
};

// Parses a safetensors header from raw bytes (the whole file). Throws Error on any
// inconsistency: short file, bad JSON, unknown dtype, offsets out of range or
// overlapping, shape/size mismatch. `source` names the file in messages.
std::vector<TensorInfo> parse_safetensors(const uint8_t* bytes, size_t size, const std::string& source,
                                          std::map<std::string, std::string>* metadata = nullptr);

// All tensors of a model folder or file. Keeps the mappings alive.
class TensorStore {
 public:
  // `path`: a .safetensors file, a .index.json file, or a folder holding either
  // model.safetensors or model.safetensors.index.json.
  static TensorStore open(const std::string& path);
  // A store over tensors held elsewhere (e.g. a GGUF file seen through Hugging Face names):
  // `owner` keeps their bytes alive as long as the store (and its copies) live; `source`
  // names them in messages.
  static TensorStore from_tensors(std::vector<TensorInfo> tensors, std::shared_ptr<const void> owner,
                                  const std::string& source);

  const TensorInfo* find(const std::string& name) const;  // nullptr if absent
  // Throws a clear Error if the tensor is missing or has another shape.
  const TensorInfo& require(const std::string& name, const std::vector<int64_t>& shape) const;
  const TensorInfo& require(const std::string& name) const;
  const std::map<std::string, TensorInfo>& tensors() const { return tensors_; }
  const std::vector<std::string>& files() const { return files_; }

 private:
  void add_file(const std::string& path);
  std::vector<std::shared_ptr<MappedFile>> maps_;
  std::shared_ptr<const void> owner_;  // from_tensors(): whatever holds the bytes
  std::vector<std::string> files_;
  std::map<std::string, TensorInfo> tensors_;
};

// Converts any float tensor (f32/f16/bf16) to a float32 vector.
std::vector<float> to_f32(const TensorInfo& t);
// Converts any integer tensor (i64/i32/u8/i8/bool) to int64.
std::vector<int64_t> to_i64(const TensorInfo& t);

std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace gemma4
