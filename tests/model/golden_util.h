// Reading the tiny model's text goldens and comparing arrays against them.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "io/safetensors.h"
#include "model/text_decoder.h"
#include "test_util.h"

namespace gemma4::test {

inline const TensorStore& text_goldens() {
  static TensorStore store = TensorStore::open(tiny_dir() + "/goldens_text.safetensors");
  return store;
}

inline const nlohmann::json& manifest() {
  static nlohmann::json m = [] {
    std::ifstream f(tiny_dir() + "/manifest.json");
    return nlohmann::json::parse(f);
  }();
  return m;
}

inline const nlohmann::json& manifest_case(const std::string& name) {
  for (const auto& c : manifest()["cases"])
    if (c["name"] == name) return c;
  throw std::runtime_error("no case " + name);
}

inline std::shared_ptr<TextDecoder> tiny_decoder() {
  static std::shared_ptr<TextDecoder> d = TextDecoder::load(tiny_dir());
  return d;
}

inline std::vector<float> golden_f32(const std::string& name) { return to_f32(text_goldens().require(name)); }
inline std::vector<int64_t> golden_i64(const std::string& name) { return to_i64(text_goldens().require(name)); }

// Every |got - want| <= atol + rtol·|want|; reports the worst element.
inline ::testing::AssertionResult all_close(const std::vector<float>& got, const std::vector<float>& want, double atol,
                                            double rtol = 0.0) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << "size " << got.size() << " != " << want.size();
  double worst = 0;
  size_t worst_i = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double excess = std::fabs(double(got[i]) - want[i]) - (atol + rtol * std::fabs(double(want[i])));
    if (!(excess <= 0) && (excess > worst || std::isnan(excess))) {
      worst = std::isnan(excess) ? INFINITY : excess;
      worst_i = i;
    }
  }
  if (worst > 0)
    return ::testing::AssertionFailure() << "element " << worst_i << ": got " << got[worst_i] << ", want "
                                         << want[worst_i] << " (atol " << atol << ", rtol " << rtol << ")";
  return ::testing::AssertionSuccess();
}

}  // namespace gemma4::test
