#include "io/safetensors.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>

#include "base/error.h"

namespace gemma4 {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

DType parse_dtype(const std::string& s, const std::string& where) {
  if (s == "F32") return DType::f32;
  if (s == "F16") return DType::f16;
  if (s == "BF16") return DType::bf16;
  if (s == "I64") return DType::i64;
  if (s == "I32") return DType::i32;
  if (s == "U8") return DType::u8;
  if (s == "I8") return DType::i8;
  if (s == "F64") return DType::f64;
  if (s == "BOOL") return DType::bool_;
  throw Error(where + ": unsupported dtype " + s, ExitCode::unsupported);
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string TensorInfo::shape_str() const { return shape_to_string(shape); }

std::vector<TensorInfo> parse_safetensors(const uint8_t* bytes, size_t size, const std::string& source,
                                          std::map<std::string, std::string>* metadata) {
  check(size >= 8, source + ": not a safetensors file (shorter than its 8-byte header length)");
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];
  check(header_len <= size - 8, source + ": truncated safetensors file (header length " +
                                    std::to_string(header_len) + " exceeds file size " + std::to_string(size) + ")");
  check(header_len <= 100u * 1024 * 1024, source + ": safetensors header is implausibly large");
  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const json::exception& e) {
    throw Error(source + ": corrupt safetensors header (invalid JSON: " + std::string(e.what()) + ")",
                ExitCode::bad_input);
  }
  check(header.is_object(), source + ": corrupt safetensors header (not a JSON object)");
  const uint8_t* data_start = bytes + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;

  std::vector<TensorInfo> out;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (metadata && it.value().is_object()) {
        for (auto m = it.value().begin(); m != it.value().end(); ++m)
          if (m.value().is_string()) (*metadata)[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = source + ": tensor " + it.key();
    const json& v = it.value();
    check(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets") &&
              v["dtype"].is_string() && v["shape"].is_array() && v["data_offsets"].is_array() &&
              v["data_offsets"].size() == 2,
          where + ": corrupt header entry");
    TensorInfo t;
    t.name = it.key();
    t.file = source;
    t.dtype = parse_dtype(v["dtype"].get<std::string>(), where);
    uint64_t numel = 1;
    for (const json& d : v["shape"]) {
      check(d.is_number_unsigned(), where + ": shape entries must be non-negative integers");
      uint64_t dim = d.get<uint64_t>();
      check(dim < (1ull << 40), where + ": dimension too large");
      t.shape.push_back(static_cast<int64_t>(dim));
      check(dim == 0 || numel <= std::numeric_limits<uint64_t>::max() / dim / 8, where + ": tensor too large");
      numel *= dim;
    }
    const json& off = v["data_offsets"];
    check(off[0].is_number_unsigned() && off[1].is_number_unsigned(), where + ": bad data_offsets");
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    check(begin <= end && end <= data_size,
          where + ": data range [" + std::to_string(begin) + ", " + std::to_string(end) +
              ") lies outside the file's data (" + std::to_string(data_size) + " bytes): truncated or corrupt file");
    check(end - begin == numel * dtype_size(t.dtype),
          where + ": byte size " + std::to_string(end - begin) + " does not match shape " + t.shape_str() +
              " of " + dtype_name(t.dtype));
    t.data = data_start + begin;
    t.nbytes = end - begin;
    ranges.push_back({begin, end});
    out.push_back(std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    check(ranges[i].first >= ranges[i - 1].second, source + ": overlapping tensor data ranges (corrupt file)");
  return out;
}

void TensorStore::add_file(const std::string& path) {
  auto map = std::make_shared<MappedFile>(path);
  for (TensorInfo& t : parse_safetensors(map->data(), map->size(), path)) {
    check(!tensors_.count(t.name), path + ": tensor " + t.name + " appears in more than one file");
    std::string name = t.name;
    tensors_.emplace(std::move(name), std::move(t));
  }
  maps_.push_back(std::move(map));
  files_.push_back(path);
}

TensorStore TensorStore::open(const std::string& path) {
  TensorStore store;
  fs::path p(path);
  if (fs::is_directory(p)) {
    if (fs::exists(p / "model.safetensors.index.json")) {
      p /= "model.safetensors.index.json";
    } else if (fs::exists(p / "model.safetensors")) {
      p /= "model.safetensors";
    } else {
      throw Error(path + ": no model.safetensors or model.safetensors.index.json in this folder",
                  ExitCode::not_found);
    }
  }
  if (p.string().size() >= 5 && p.string().ends_with(".json")) {
    json index;
    try {
      index = json::parse(read_file(p.string()));
    } catch (const json::exception& e) {
      throw Error(p.string() + ": invalid JSON: " + e.what(), ExitCode::bad_input);
    }
    check(index.contains("weight_map") && index["weight_map"].is_object(),
          p.string() + ": no \"weight_map\" object");
    std::vector<std::string> shards;
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      check(it.value().is_string(), p.string() + ": weight_map values must be file names");
      std::string f = it.value().get<std::string>();
      check(f.find('/') == std::string::npos && f.find("..") == std::string::npos,
            p.string() + ": shard name " + f + " must be a plain file name");
      if (std::find(shards.begin(), shards.end(), f) == shards.end()) shards.push_back(f);
    }
    for (const std::string& f : shards) store.add_file((p.parent_path() / f).string());
    for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
      auto t = store.tensors_.find(it.key());
      check(t != store.tensors_.end(),
            p.string() + ": tensor " + it.key() + " is listed in the index but missing from " +
                it.value().get<std::string>());
    }
  } else {
    store.add_file(p.string());
  }
  return store;
}

TensorStore TensorStore::from_tensors(std::vector<TensorInfo> tensors, std::shared_ptr<const void> owner,
                                      const std::string& source) {
  TensorStore store;
  for (TensorInfo& t : tensors) {
    check(t.numel() * static_cast<int64_t>(dtype_size(t.dtype)) == static_cast<int64_t>(t.nbytes),
          source + ": tensor " + t.name + " has " + std::to_string(t.nbytes) + " bytes for shape " + t.shape_str());
    check(!store.tensors_.count(t.name), source + ": tensor " + t.name + " appears twice");
    std::string name = t.name;
    store.tensors_.emplace(std::move(name), std::move(t));
  }
  store.owner_ = std::move(owner);
  store.files_.push_back(source);
  return store;
}

const TensorInfo* TensorStore::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

const TensorInfo& TensorStore::require(const std::string& name) const {
  const TensorInfo* t = find(name);
  if (!t) {
    std::string where = files_.empty() ? "the checkpoint" : files_.front();
    throw Error(where + ": missing tensor " + name, ExitCode::bad_input);
  }
  return *t;
}

const TensorInfo& TensorStore::require(const std::string& name, const std::vector<int64_t>& shape) const {
  const TensorInfo& t = require(name);
  check(t.shape == shape, t.file + ": tensor " + name + " has shape " + t.shape_str() + ", expected " +
                              shape_to_string(shape));
  return t;
}

std::vector<float> to_f32(const TensorInfo& t) {
  const int64_t n = t.numel();
  std::vector<float> out(static_cast<size_t>(n));
  switch (t.dtype) {
    case DType::f32:
      std::memcpy(out.data(), t.data, n * 4);
      break;
    case DType::bf16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = bf16_to_f32(h);
      }
      break;
    case DType::f16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = f16_to_f32(h);
      }
      break;
    case DType::f64:
      for (int64_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, t.data + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    default:
      throw Error(t.file + ": tensor " + t.name + " has dtype " + dtype_name(t.dtype) + ", expected a float type",
                  ExitCode::bad_input);
  }
  return out;
}

std::vector<int64_t> to_i64(const TensorInfo& t) {
  const int64_t n = t.numel();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::i64: std::memcpy(&out[i], t.data + 8 * i, 8); break;
      case DType::i32: {
        int32_t v;
        std::memcpy(&v, t.data + 4 * i, 4);
        out[i] = v;
        break;
      }
      case DType::u8:
      case DType::bool_: out[i] = t.data[i]; break;
      case DType::i8: out[i] = static_cast<int8_t>(t.data[i]); break;
      default:
        throw Error(t.file + ": tensor " + t.name + " has dtype " + dtype_name(t.dtype) +
                        ", expected an integer type",
                    ExitCode::bad_input);
    }
  }
  return out;
}

}  // namespace gemma4
