// Helpers for the encoders' fast-numerics tests: agreement of soft tokens with a reference,
// and the bound the goldens' manifest gives for a bf16 run.
#pragma once
#include <cmath>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/mapped_file.h"
#include "test_util.h"

namespace gemma4::test {

struct Agreement {
  float max_abs = 0.f;
  double cosine = 0.0;
};

inline Agreement compare(const std::vector<float>& got, const std::vector<float>& want) {
  Agreement a;
  double dot = 0, gg = 0, ww = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const float d = std::fabs(got[i] - want[i]);
    if (!(d <= a.max_abs)) a.max_abs = std::isnan(d) ? INFINITY : d;
    dot += double(got[i]) * want[i];
    gg += double(got[i]) * got[i];
    ww += double(want[i]) * want[i];
  }
  a.cosine = dot / std::sqrt(gg * ww);
  return a;
}

// What a bf16-activation transformers run of the tiny model gives against its float32 run
// (manifest.json tolerance_study.<case>.<kind>.bf16_vs_f32_max_abs). The fast paths round less
// than that run (only the inputs of the matrix products, not every intermediate), so they
// must stay within it.
inline float bf16_bound(const std::string& case_name, const std::string& kind = "soft_tokens") {
  const nlohmann::json manifest = nlohmann::json::parse(read_file(tiny_dir() + "/manifest.json"));
  return manifest.at("tolerance_study").at(case_name).at(kind).at("bf16_vs_f32_max_abs").get<float>();
}

}  // namespace gemma4::test
