#include "io/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>

#include "base/error.h"
#include "base/mapped_file.h"

namespace gemma4 {
namespace {

void write_npy_bytes(const std::string& path, const char* descr, const void* data, size_t elem_size,
                     const std::vector<int64_t>& shape) {
  std::string shape_str = "(";
  size_t n = 1;
  for (int64_t d : shape) {
    shape_str += std::to_string(d) + ",";
    n *= static_cast<size_t>(d);
  }
  if (shape.size() > 1) shape_str.pop_back();
  shape_str += ")";
  std::string header = std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shape_str + ", }";
  // Magic (6) + version (2) + header length (2) + header, padded with spaces to a multiple of 64 and ending in \n.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  if (!out) throw Error("cannot write " + path);
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t hlen = static_cast<uint16_t>(header.size());
  char hl[2] = {static_cast<char>(hlen & 0xff), static_cast<char>(hlen >> 8)};
  out.write(hl, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(n * elem_size));
  if (!out) throw Error("error writing " + path);
}

}  // namespace

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_npy_bytes(path, "<f4", data, 4, shape);
}

void write_npy(const std::string& path, const int64_t* data, const std::vector<int64_t>& shape) {
  write_npy_bytes(path, "<i8", data, 8, shape);
}

NpyArray read_npy_f32(const std::string& path) {
  std::string bytes = read_file(path);
  check(bytes.size() >= 10 && bytes.compare(0, 6, "\x93NUMPY") == 0, path + ": not a .npy file");
  size_t hlen = static_cast<uint8_t>(bytes[8]) | (static_cast<uint8_t>(bytes[9]) << 8);
  check(10 + hlen <= bytes.size(), path + ": truncated .npy header");
  std::string header = bytes.substr(10, hlen);
  check(header.find("'<f4'") != std::string::npos, path + ": only float32 .npy files are supported");
  check(header.find("'fortran_order': False") != std::string::npos, path + ": Fortran order not supported");
  size_t lp = header.find('(', header.find("'shape'")), rp = header.find(')', lp);
  check(lp != std::string::npos && rp != std::string::npos, path + ": no shape in .npy header");
  NpyArray a;
  size_t n = 1;
  std::string dims = header.substr(lp + 1, rp - lp - 1);
  size_t pos = 0;
  while (pos < dims.size()) {
    size_t comma = dims.find(',', pos);
    std::string d = dims.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (d.find_first_not_of(' ') != std::string::npos) {
      a.shape.push_back(std::stoll(d));
      n *= static_cast<size_t>(a.shape.back());
    }
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  check(bytes.size() - 10 - hlen == n * 4, path + ": data size does not match shape");
  a.data.resize(n);
  std::memcpy(a.data.data(), bytes.data() + 10 + hlen, n * 4);
  return a;
}

}  // namespace gemma4
