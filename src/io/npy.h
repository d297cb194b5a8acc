// NumPy .npy files (version 1.0, little-endian float32 / int64, C order).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace gemma4 {

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
void write_npy(const std::string& path, const int64_t* data, const std::vector<int64_t>& shape);

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;  // float32 arrays only
};
NpyArray read_npy_f32(const std::string& path);

}  // namespace gemma4
