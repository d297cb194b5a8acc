#include "io/gguf.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>

#include "base/error.h"

namespace gemma4 {

namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxDims = 4;              // GGML_MAX_DIMS

// A cursor over untrusted bytes: every read is bounds-checked.
class Reader {
 public:
  Reader(const uint8_t* p, size_t n, const std::string& source) : p_(p), n_(n), source_(source) {}

  template <typename T>
  T read() {
    need(sizeof(T), "value");
    T v;
    std::memcpy(&v, p_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  std::string read_string(const char* what) {
    const uint64_t len = read<uint64_t>();
    need(len, what);
    std::string s(reinterpret_cast<const char*>(p_ + pos_), static_cast<size_t>(len));
    pos_ += static_cast<size_t>(len);
    return s;
  }
  // Checks that `count` items of at least `min_item_bytes` each can still fit.
  void need_items(uint64_t count, size_t min_item_bytes, const std::string& what) {
    if (min_item_bytes && count > remaining() / min_item_bytes) fail(what + " count " + std::to_string(count) + " exceeds the file");
  }
  size_t pos() const { return pos_; }
  size_t remaining() const { return n_ - pos_; }
  [[noreturn]] void fail(const std::string& msg) const {
    throw Error(source_ + ": invalid GGUF: " + msg + " (at byte " + std::to_string(pos_) + ")", ExitCode::bad_input);
  }

 private:
  void need(uint64_t bytes, const char* what) {
    if (bytes > remaining()) fail(std::string("truncated ") + what);
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  const std::string& source_;
};

size_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::u8: case GgufType::i8: case GgufType::boolean: return 1;
    case GgufType::u16: case GgufType::i16: return 2;
    case GgufType::u32: case GgufType::i32: case GgufType::f32: return 4;
    case GgufType::u64: case GgufType::i64: case GgufType::f64: return 8;
    case GgufType::string: return 8;  // at least the length
    case GgufType::array: return 12;
  }
  return 0;
}

bool valid_type(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::f64); }

bool is_integer_type(GgufType t) {
  switch (t) {
    case GgufType::u8: case GgufType::i8: case GgufType::u16: case GgufType::i16: case GgufType::u32:
    case GgufType::i32: case GgufType::u64: case GgufType::i64: case GgufType::boolean: return true;
    default: return false;
  }
}

int64_t read_integer(Reader& r, GgufType t) {
  switch (t) {
    case GgufType::u8: return r.read<uint8_t>();
    case GgufType::i8: return r.read<int8_t>();
    case GgufType::u16: return r.read<uint16_t>();
    case GgufType::i16: return r.read<int16_t>();
    case GgufType::u32: return r.read<uint32_t>();
    case GgufType::i32: return r.read<int32_t>();
    case GgufType::u64: return static_cast<int64_t>(r.read<uint64_t>());
    case GgufType::i64: return r.read<int64_t>();
    case GgufType::boolean: {
      const uint8_t b = r.read<uint8_t>();
      if (b > 1) r.fail("bool value " + std::to_string(b));
      return b;
    }
    default: r.fail("not an integer type");
  }
}

double read_float(Reader& r, GgufType t) {
  return t == GgufType::f32 ? static_cast<double>(r.read<float>()) : r.read<double>();
}

GgufValue read_value(Reader& r, GgufType type, const std::string& key) {
  GgufValue v;
  v.type = type;
  if (type == GgufType::string) {
    v.s = r.read_string("string");
  } else if (type == GgufType::f32 || type == GgufType::f64) {
    v.f = read_float(r, type);
  } else if (type == GgufType::array) {
    const uint32_t et = r.read<uint32_t>();
    if (!valid_type(et)) r.fail("key '" + key + "': unknown array element type " + std::to_string(et));
    v.elem_type = static_cast<GgufType>(et);
    if (v.elem_type == GgufType::array)
      throw Error("key '" + key + "': nested GGUF arrays are not supported", ExitCode::unsupported);
    const uint64_t count = r.read<uint64_t>();
    r.need_items(count, scalar_size(v.elem_type), "array '" + key + "'");
    const size_t n = static_cast<size_t>(count);
    if (v.elem_type == GgufType::string) {
      v.strings.reserve(n);
      for (size_t k = 0; k < n; ++k) v.strings.push_back(r.read_string("string in array"));
    } else if (v.elem_type == GgufType::f32 || v.elem_type == GgufType::f64) {
      v.floats.reserve(n);
      for (size_t k = 0; k < n; ++k) v.floats.push_back(read_float(r, v.elem_type));
    } else {
      v.ints.reserve(n);
      for (size_t k = 0; k < n; ++k) v.ints.push_back(read_integer(r, v.elem_type));
    }
  } else {
    v.i = read_integer(r, type);
  }
  return v;
}

// ---- writing ------------------------------------------------------------------------

class Sink {
 public:
  explicit Sink(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) throw Error("cannot create " + path + ": " + std::strerror(errno), ExitCode::failure);
  }
  ~Sink() {
    if (f_) std::fclose(f_);
  }
  void bytes(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n) throw Error("write failed: " + path_, ExitCode::failure);
    written_ += n;
  }
  template <typename T>
  void put(T v) { bytes(&v, sizeof(T)); }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to(uint64_t alignment) {
    static const uint8_t zeros[256] = {};
    while (written_ % alignment) bytes(zeros, std::min<size_t>(sizeof zeros, alignment - written_ % alignment));
  }
  void close() {
    const bool ok = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!ok) throw Error("write failed: " + path_, ExitCode::failure);
  }
  size_t written() const { return written_; }

 private:
  std::string path_;
  FILE* f_;
  size_t written_ = 0;
};

void write_scalar_int(Sink& s, GgufType t, int64_t v) {
  switch (t) {
    case GgufType::u8: case GgufType::boolean: s.put<uint8_t>(static_cast<uint8_t>(v)); break;
    case GgufType::i8: s.put<int8_t>(static_cast<int8_t>(v)); break;
    case GgufType::u16: s.put<uint16_t>(static_cast<uint16_t>(v)); break;
    case GgufType::i16: s.put<int16_t>(static_cast<int16_t>(v)); break;
    case GgufType::u32: s.put<uint32_t>(static_cast<uint32_t>(v)); break;
    case GgufType::i32: s.put<int32_t>(static_cast<int32_t>(v)); break;
    case GgufType::u64: s.put<uint64_t>(static_cast<uint64_t>(v)); break;
    case GgufType::i64: s.put<int64_t>(v); break;
    default: throw Error("GGUF writer: not an integer type");
  }
}

void write_value(Sink& s, const GgufValue& v) {
  s.put<uint32_t>(static_cast<uint32_t>(v.type));
  if (v.type == GgufType::string) {
    s.str(v.s);
  } else if (v.type == GgufType::f32) {
    s.put<float>(static_cast<float>(v.f));
  } else if (v.type == GgufType::f64) {
    s.put<double>(v.f);
  } else if (v.type == GgufType::array) {
    s.put<uint32_t>(static_cast<uint32_t>(v.elem_type));
    s.put<uint64_t>(v.array_size());
    if (v.elem_type == GgufType::string) {
      for (const auto& e : v.strings) s.str(e);
    } else if (v.elem_type == GgufType::f32) {
      for (double e : v.floats) s.put<float>(static_cast<float>(e));
    } else if (v.elem_type == GgufType::f64) {
      for (double e : v.floats) s.put<double>(e);
    } else {
      for (int64_t e : v.ints) write_scalar_int(s, v.elem_type, e);
    }
  } else {
    write_scalar_int(s, v.type, v.i);
  }
}

}  // namespace

std::string gguf_type_name(GgufType t) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32",
                                "bool", "string", "array", "u64", "i64", "f64"};
  const auto i = static_cast<uint32_t>(t);
  return i < 13 ? names[i] : "type " + std::to_string(i);
}

bool GgufValue::is_integer() const { return is_integer_type(type); }

size_t GgufValue::array_size() const {
  if (elem_type == GgufType::string) return strings.size();
  if (elem_type == GgufType::f32 || elem_type == GgufType::f64) return floats.size();
  return ints.size();
}

GgufValue GgufValue::u32(uint32_t v) { GgufValue g; g.type = GgufType::u32; g.i = v; return g; }
GgufValue GgufValue::i32(int32_t v) { GgufValue g; g.type = GgufType::i32; g.i = v; return g; }
GgufValue GgufValue::u64(uint64_t v) { GgufValue g; g.type = GgufType::u64; g.i = static_cast<int64_t>(v); return g; }
GgufValue GgufValue::f32(float v) { GgufValue g; g.type = GgufType::f32; g.f = v; return g; }
GgufValue GgufValue::boolean(bool v) { GgufValue g; g.type = GgufType::boolean; g.i = v; return g; }
GgufValue GgufValue::str(std::string v) { GgufValue g; g.type = GgufType::string; g.s = std::move(v); return g; }
GgufValue GgufValue::array_i32(std::vector<int64_t> v) {
  GgufValue g; g.type = GgufType::array; g.elem_type = GgufType::i32; g.ints = std::move(v); return g;
}
GgufValue GgufValue::array_u32(std::vector<int64_t> v) {
  GgufValue g; g.type = GgufType::array; g.elem_type = GgufType::u32; g.ints = std::move(v); return g;
}
GgufValue GgufValue::array_bool(std::vector<bool> v) {
  GgufValue g; g.type = GgufType::array; g.elem_type = GgufType::boolean;
  for (bool b : v) g.ints.push_back(b);
  return g;
}
GgufValue GgufValue::array_f32(std::vector<double> v) {
  GgufValue g; g.type = GgufType::array; g.elem_type = GgufType::f32; g.floats = std::move(v); return g;
}
GgufValue GgufValue::array_str(std::vector<std::string> v) {
  GgufValue g; g.type = GgufType::array; g.elem_type = GgufType::string; g.strings = std::move(v); return g;
}

int64_t GgufTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : ne) n *= d;
  return n;
}

GgufContents parse_gguf(const uint8_t* bytes, size_t size, const std::string& source) {
  Reader r(bytes, size, source);
  GgufContents c;
  if (size < 4 || r.read<uint32_t>() != kMagic) r.fail("bad magic (not a GGUF file)");
  c.version = r.read<uint32_t>();
  if (c.version != 2 && c.version != 3)
    throw Error(source + ": GGUF version " + std::to_string(c.version) + " is not supported (2 or 3)",
                ExitCode::unsupported);
  const uint64_t n_tensors = r.read<uint64_t>();
  const uint64_t n_kv = r.read<uint64_t>();
  r.need_items(n_kv, 8 + 4 + 1, "metadata");
  r.need_items(n_tensors, 8 + 4 + 4 + 8, "tensor");

  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string key = r.read_string("key");
    const uint32_t type = r.read<uint32_t>();
    if (!valid_type(type)) r.fail("key '" + key + "': unknown value type " + std::to_string(type));
    GgufValue v = read_value(r, static_cast<GgufType>(type), key);
    if (!c.kv.emplace(key, std::move(v)).second) r.fail("duplicate key '" + key + "'");
    c.kv_order.push_back(std::move(key));
  }
  if (auto it = c.kv.find("general.alignment"); it != c.kv.end()) {
    const GgufValue& a = it->second;
    if (!a.is_integer() || a.i <= 0 || (a.i & (a.i - 1)) != 0) r.fail("general.alignment must be a power of two");
    c.alignment = static_cast<uint64_t>(a.i);
  }

  std::set<std::string> names;
  c.tensors.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensor t;
    t.name = r.read_string("tensor name");
    if (!names.insert(t.name).second) r.fail("duplicate tensor '" + t.name + "'");
    const uint32_t n_dims = r.read<uint32_t>();
    if (n_dims == 0 || n_dims > kMaxDims) r.fail("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dims");
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = r.read<uint64_t>();
      if (ne == 0 || ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / numel))
        r.fail("tensor '" + t.name + "' has a bad dimension " + std::to_string(ne));
      numel *= static_cast<int64_t>(ne);
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    const uint32_t type = r.read<uint32_t>();
    require_supported_ggml_type(type, t.name);
    t.type = static_cast<GgmlType>(type);
    t.offset = r.read<uint64_t>();
    if (t.offset % c.alignment) r.fail("tensor '" + t.name + "' data is not aligned");
    const int64_t block = ggml_block_elems(t.type);
    if (t.ne[0] % block) r.fail("tensor '" + t.name + "' rows of " + std::to_string(t.ne[0]) +
                                 " are not whole " + ggml_type_name(t.type) + " blocks");
    const uint64_t blocks = static_cast<uint64_t>(numel / block);
    if (blocks > std::numeric_limits<uint64_t>::max() / ggml_block_bytes(t.type))
      r.fail("tensor '" + t.name + "' is too large");
    t.nbytes = static_cast<size_t>(blocks * ggml_block_bytes(t.type));
    c.tensors.push_back(std::move(t));
  }

  // The data section starts at the next multiple of the alignment.
  const uint64_t pos = r.pos();
  c.data_offset = static_cast<size_t>((pos + c.alignment - 1) / c.alignment * c.alignment);
  if (!c.tensors.empty() && c.data_offset > size) r.fail("data section starts past the end of the file");
  const uint64_t data_size = size - std::min<uint64_t>(size, c.data_offset);

  // Every tensor must lie inside the data section, and no two may overlap.
  std::vector<std::pair<uint64_t, const GgufTensor*>> spans;
  for (auto& t : c.tensors) {
    if (t.offset > data_size || t.nbytes > data_size - t.offset)
      r.fail("tensor '" + t.name + "' data (" + std::to_string(t.nbytes) + " bytes at " + std::to_string(t.offset) +
             ") runs past the end of the file");
    t.data = bytes + c.data_offset + t.offset;
    spans.emplace_back(t.offset, &t);
  }
  std::sort(spans.begin(), spans.end());
  for (size_t k = 1; k < spans.size(); ++k) {
    const GgufTensor& prev = *spans[k - 1].second;
    if (prev.offset + prev.nbytes > spans[k].first)
      r.fail("tensors '" + prev.name + "' and '" + spans[k].second->name + "' overlap");
  }
  return c;
}

GgufFile GgufFile::open(const std::string& path) {
  GgufFile f;
  auto map = std::make_shared<MappedFile>(path);
  f.contents_ = parse_gguf(map->data(), map->size(), path);
  f.map_ = std::move(map);
  for (size_t k = 0; k < f.contents_.tensors.size(); ++k) f.tensor_index_[f.contents_.tensors[k].name] = k;
  return f;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &contents_.tensors[it->second];
}

const GgufTensor& GgufFile::require_tensor(const std::string& name) const {
  const GgufTensor* t = find_tensor(name);
  if (!t) throw Error(path() + ": tensor '" + name + "' not found", ExitCode::not_found);
  return *t;
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = contents_.kv.find(key);
  return it == contents_.kv.end() ? nullptr : &it->second;
}

namespace {
[[noreturn]] void key_error(const std::string& path, const std::string& key, const std::string& what) {
  throw Error(path + ": GGUF key '" + key + "' " + what, ExitCode::bad_input);
}
}  // namespace

int64_t GgufFile::get_int(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) key_error(path(), key, "is missing");
  if (!v->is_integer()) key_error(path(), key, "is not an integer (" + gguf_type_name(v->type) + ")");
  return v->i;
}
int64_t GgufFile::get_int(const std::string& key, int64_t fallback) const { return has(key) ? get_int(key) : fallback; }

double GgufFile::get_float(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) key_error(path(), key, "is missing");
  if (v->is_float()) return v->f;
  if (v->is_integer()) return static_cast<double>(v->i);
  key_error(path(), key, "is not a number (" + gguf_type_name(v->type) + ")");
}
double GgufFile::get_float(const std::string& key, double fallback) const {
  return has(key) ? get_float(key) : fallback;
}

bool GgufFile::get_bool(const std::string& key, bool fallback) const {
  return has(key) ? get_int(key) != 0 : fallback;
}

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) key_error(path(), key, "is missing");
  if (v->type != GgufType::string) key_error(path(), key, "is not a string");
  return v->s;
}
std::string GgufFile::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::vector<int64_t> GgufFile::get_int_per_layer(const std::string& key, int64_t n_layers) const {
  const GgufValue* v = find(key);
  if (!v) key_error(path(), key, "is missing");
  if (v->is_integer()) return std::vector<int64_t>(static_cast<size_t>(n_layers), v->i);
  if (!v->is_array() || !is_integer_type(v->elem_type)) key_error(path(), key, "is not an integer or integer array");
  if (static_cast<int64_t>(v->ints.size()) != n_layers)
    key_error(path(), key, "has " + std::to_string(v->ints.size()) + " values for " + std::to_string(n_layers) + " layers");
  return v->ints;
}

const std::vector<std::string>& GgufFile::get_strings(const std::string& key) const {
  const GgufValue* v = find(key);
  if (!v) key_error(path(), key, "is missing");
  if (!v->is_array() || v->elem_type != GgufType::string) key_error(path(), key, "is not a string array");
  return v->strings;
}

std::vector<float> gguf_to_f32(const GgufTensor& t) {
  std::vector<float> out(static_cast<size_t>(t.numel()));
  dequantize_ggml(t.type, t.data, out.data(), t.numel());
  return out;
}

// ---- GgufWriter -----------------------------------------------------------------------

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : kv_)
    if (k == key) {
      v = std::move(value);
      return;
    }
  kv_.emplace_back(key, std::move(value));
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne, Producer produce) {
  for (const auto& t : tensors_)
    if (t.name == name) throw Error("GGUF writer: duplicate tensor " + name);
  check(!ne.empty() && ne.size() <= kMaxDims, "GGUF writer: tensor " + name + " has a bad rank");
  int64_t rows = 1;
  for (size_t d = 1; d < ne.size(); ++d) rows *= ne[d];
  const size_t nbytes = ggml_row_bytes(type, ne[0]) * static_cast<size_t>(rows);
  tensors_.push_back({name, type, std::move(ne), nbytes, std::move(produce)});
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type, std::vector<int64_t> ne, std::vector<uint8_t> bytes) {
  auto data = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
  add_tensor(name, type, std::move(ne), [data](const Emit& emit) { emit(data->data(), data->size()); });
}

void GgufWriter::write(const std::string& path) const {
  Sink s(path);
  std::vector<std::pair<std::string, GgufValue>> kv = kv_;
  bool has_alignment = false;
  for (const auto& [k, v] : kv) has_alignment |= k == "general.alignment";
  if (alignment_ != 32 && !has_alignment) kv.emplace_back("general.alignment", GgufValue::u32(static_cast<uint32_t>(alignment_)));

  s.put<uint32_t>(kMagic);
  s.put<uint32_t>(3);
  s.put<uint64_t>(tensors_.size());
  s.put<uint64_t>(kv.size());
  for (const auto& [k, v] : kv) {
    s.str(k);
    write_value(s, v);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    s.str(t.name);
    s.put<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) s.put<uint64_t>(static_cast<uint64_t>(d));
    s.put<uint32_t>(static_cast<uint32_t>(t.type));
    s.put<uint64_t>(offset);
    offset += (t.nbytes + alignment_ - 1) / alignment_ * alignment_;
  }
  s.pad_to(alignment_);
  for (const auto& t : tensors_) {
    size_t produced = 0;
    t.produce([&](const uint8_t* p, size_t n) {
      if (produced + n > t.nbytes) throw Error("GGUF writer: tensor " + t.name + " produced too many bytes");
      s.bytes(p, n);
      produced += n;
    });
    if (produced != t.nbytes)
      throw Error("GGUF writer: tensor " + t.name + " produced " + std::to_string(produced) + " bytes, expected " +
                  std::to_string(t.nbytes));
    s.pad_to(alignment_);
  }
  s.close();
}

}  // namespace gemma4
